import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, test } from 'node:test';
import { TargetClient } from '../../../src/client/target.js';
import { nowUs } from '../../../src/clock.js';
import { Driver, type SampleSource } from '../../../src/console/driver.js';
import { meterAttribution } from '../../../src/console/energy.js';
import type { StageStatus } from '../../../src/console/load/tally.js';
import { parseSuite } from '../../../src/console/suite.js';
import { UWH_PER_W_US } from '../../../src/meter/attribution.js';
import { outcomeOf, type Gap, type InvocationLine, type Sample, type StageLine } from '../../../src/protocol/results.js';
import type { TestServer } from '../../helpers/server.js';
import { serverWith } from '../helpers.js';

let server: TestServer;
before(async () => {
  server = await serverWith(['fibonacci-recursive']);
});
after(async () => {
  await server.close();
});

/** A meter reading `watts()` every 10 ms on the real clock. */
class StepSource extends EventEmitter<{ sample: [Sample]; gap: [Gap] }> implements SampleSource {
  #timer: NodeJS.Timeout | undefined;
  constructor(readonly watts: () => number) {
    super();
  }
  start(): void {
    this.#timer = setInterval(() => {
      const t = nowUs();
      this.emit('sample', { t_start_us: t - 100, t_end_us: t, power_w: this.watts() });
    }, 10);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

async function run(yaml: string, watts: (phase: string) => number = () => 5): Promise<{ lines: InvocationLine[]; stages: StageLine[]; live: StageStatus[]; energies: number; exitCode: number; status: string }> {
  const suite = parseSuite(yaml, null);
  let phase = 'clock';
  const source = new StepSource(() => watts(phase));
  const client = new TargetClient(server.url, { connections: 64 });
  const driver = new Driver({ suite, client, runId: 'load-test', health: await client.health(), nowUs, meter: { spec: 'test', description: null, source, attribution: meterAttribution } });
  driver.on('phase', (p) => (phase = p.phase));
  const lines: InvocationLine[] = [];
  const stages: StageLine[] = [];
  const live: StageStatus[] = [];
  let energies = 0;
  driver.on('energy', () => energies++);
  driver.on('invocation', (l) => lines.push(l));
  driver.on('stage', (s) => stages.push(s));
  driver.on('load', (s) => live.push(s));
  const done = await driver.run();
  await client.close();
  return { lines, stages, live, energies, exitCode: done.exitCode, status: done.status };
}

test('an open-loop sweep on two runtimes: every scheduled request is one line, and sent = completed + failed + dropped in every stage', async () => {
  const { lines, stages, live, energies, exitCode } = await run(
    'name: sweep\nruntimes: [wasm, native]\nwarmup: 1\nload: { arrivals: poisson, seed: 7, max_in_flight: 32, stages: [{ rate: 20, seconds: 0.5 }, { rate: 60, seconds: 0.5 }] }\nfunctions:\n  - { name: fibonacci-recursive, inputs: [1, 2, 3] }\n',
  );
  assert.equal(exitCode, 0);
  assert.deepEqual(stages.map((s) => `${s.runtime}#${s.stage}`), ['wasm#0', 'wasm#1', 'native#0', 'native#1']);
  for (const s of stages) {
    const mine = lines.filter((l) => !l.warmup && l.runtime === s.runtime && l.stage === s.stage);
    assert.equal(s.sent, s.completed + s.failed + s.dropped, JSON.stringify(s));
    assert.equal(mine.length, s.sent);
    const counted = { completed: 0, failed: 0, dropped: 0 };
    for (const l of mine) counted[outcomeOf(l)]++;
    assert.deepEqual(counted, { completed: s.completed, failed: s.failed, dropped: s.dropped });
    // Poisson with a seed: the schedule is exact and reproducible; the lines carry it.
    assert.ok(mine.every((l) => l.intended_us! >= s.window.start_us && l.client.sent_us >= l.intended_us!));
    assert.equal(s.arrivals, 'poisson');
  }
  // Seq numbers are unique over the run (lines come in completion order).
  assert.equal(new Set(lines.map((l) => l.seq)).size, lines.length);
  // Warm-ups: one per runtime, sequential, not in any stage.
  assert.deepEqual(lines.filter((l) => l.warmup).map((l) => [l.runtime, l.stage]), [['wasm', undefined], ['native', undefined]]);
  // Load lines get no per-invocation energy (no energy event): windows overlap; energy is per stage.
  assert.ok(lines.every((l) => l.energy === undefined));
  assert.equal(energies, 0);
  assert.ok(live.some((s) => !s.finished) && live.filter((s) => s.finished).length === 4);
});

test('stage energy = (stage energy − baseline power × duration) / completed, from a meter that steps from 5 W idle to 7 W under load', async () => {
  const { stages } = await run(
    'name: energy\nruntimes: [wasm]\nbaseline: { seconds: 0.3, after: false }\nload: { rate: 50, seconds: 1 }\nfunctions:\n  - { name: fibonacci-recursive, inputs: [5] }\n',
    (phase) => (phase === 'measure' ? 7 : 5),
  );
  const s = stages[0]!;
  const e = s.energy!;
  assert.equal(e.baseline_w, 5);
  const durationUs = s.window.end_us - s.window.start_us;
  const expected = (2 * durationUs * UWH_PER_W_US) / s.completed;
  assert.ok(Math.abs(e.per_invocation_uwh! - expected) / expected < 0.05, `${e.per_invocation_uwh} vs ${expected}`);
  assert.ok(Math.abs(e.avg_power_w! - 7) < 0.1, String(e.avg_power_w));
  assert.ok(e.gross_per_invocation_uwh! > e.per_invocation_uwh!);
  // A constant meter and a constant baseline: the uncertainty is zero, not missing.
  assert.equal(e.per_invocation_uncertainty_uwh, 0);
});

test('max_in_flight 1 against a function slower than the schedule: the excess is recorded as dropped lines with the reason, never sent late', async () => {
  // fib(27) takes milliseconds; 200 req/s leaves 5 ms between sends.
  const { lines, stages } = await run('name: drops\nruntimes: [wasm]\nload: { rate: 200, seconds: 0.5, max_in_flight: 1 }\nfunctions:\n  - { name: fibonacci-recursive, inputs: [27] }\n');
  const s = stages[0]!;
  assert.ok(s.dropped > 0, JSON.stringify(s));
  assert.equal(s.sent, 100);
  assert.equal(s.sent, s.completed + s.failed + s.dropped);
  const dropped = lines.filter((l) => outcomeOf(l) === 'dropped');
  assert.equal(dropped.length, s.dropped);
  for (const l of dropped) {
    assert.equal(l.ok, false);
    assert.equal(l.metrics, null);
    assert.match(l.request_error!.message, /1 requests were already in flight \(load\.max_in_flight\)/);
  }
});

test('a closed loop keeps exactly `concurrency` requests in flight and counts every one', async () => {
  const { lines, stages } = await run('name: closed\nruntimes: [wasm]\nload: { concurrency: 4, seconds: 0.5 }\nfunctions:\n  - { name: fibonacci-recursive, inputs: [10] }\n');
  const s = stages[0]!;
  assert.equal(s.mode, 'closed');
  assert.equal(s.concurrency, 4);
  assert.equal(s.dropped, 0);
  assert.equal(s.sent, lines.length);
  assert.equal(s.sent, s.completed + s.failed);
  // Never more than 4 at once: sort sends and replies and sweep.
  const events = lines.flatMap((l) => [[l.client.sent_us, 1], [l.client.replied_us, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (open += d));
  assert.equal(most, 4);
});
