import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TargetClient } from '../../../src/client/target.js';
import { nowUs } from '../../../src/clock.js';
import { Driver } from '../../../src/console/driver.js';
import { parseSuite } from '../../../src/console/suite.js';
import type { InvocationLine, StageLine } from '../../../src/protocol/results.js';
import { startSlowTarget, type SlowTarget } from '../../helpers/slow-target.js';

const SERVICE_MS = 50;
let target: SlowTarget;

before(async () => {
  target = await startSlowTarget(SERVICE_MS);
});
after(async () => {
  await target.close();
});

const health = { ok: true, version: 'slow', arch: 'x64', runtimes: { wasm: true, component: false, docker: false, native: false } } as const;

async function drive(load: string): Promise<{ lines: InvocationLine[]; stages: StageLine[] }> {
  const suite = parseSuite(`name: co\nruntimes: [wasm]\nload: ${load}\nfunctions:\n  - { name: slow, inputs: [1] }\n`, null);
  const client = new TargetClient(target.url, { connections: 64, timeoutMs: 30_000 });
  const driver = new Driver({ suite, client, runId: 'co', health, nowUs, meter: null });
  const lines: InvocationLine[] = [];
  const stages: StageLine[] = [];
  driver.on('invocation', (l) => lines.push(l));
  driver.on('stage', (s) => stages.push(s));
  const done = await driver.run();
  await client.close();
  assert.equal(done.status, 'completed', done.error ?? '');
  return { lines, stages };
}

const latency = (l: InvocationLine): number => l.client.replied_us - l.intended_us!;
const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('open loop against a target slower than the rate: requests go out on schedule and latency from the intended send time grows with the queue (coordinated omission is not hidden)', async () => {
  // 40 req/s for 1 s into a target that serves 20 req/s one at a time: the queue grows by one every 50 ms.
  const { lines, stages } = await drive('{ rate: 40, seconds: 1, max_in_flight: 64 }');
  assert.equal(lines.length, 40);
  const byIntent = [...lines].sort((a, b) => a.intended_us! - b.intended_us!);
  assert.ok(byIntent.every((l) => l.ok && l.stage === 0));
  // The generator did not wait for answers: the target saw many requests outstanding at once.
  assert.ok(target.maxOutstanding() >= 10, `at most ${target.maxOutstanding()} outstanding: the generator waited for answers`);
  // Served one by one, the last answer comes at least 40 × 50 ms after the first request was due, while
  // the last request was due at 975 ms: its latency from the intended send is ≥ 1 s, twenty services.
  const lastAnswer = Math.max(...lines.map((l) => l.client.replied_us));
  assert.ok(lastAnswer - byIntent[0]!.intended_us! >= 40 * SERVICE_MS * 1000);
  const first = meanOf(byIntent.slice(0, 10).map(latency));
  const last = meanOf(byIntent.slice(-10).map(latency));
  assert.ok(last > first + 10 * SERVICE_MS * 1000, `latency did not grow: first ten ${first} µs, last ten ${last} µs`);
  const stage = stages[0]!;
  assert.equal(stage.sent, stage.completed + stage.failed + stage.dropped);
  assert.ok(stage.latency.p99_us! > 10 * SERVICE_MS * 1000, `p99 ${stage.latency.p99_us} µs hides the queue`);
});

test('a closed loop of one against the same target sees only the service time: what the open loop shows is the queue', async () => {
  const { lines } = await drive('{ concurrency: 1, seconds: 0.5 }');
  assert.ok(lines.length >= 3);
  for (const l of lines) {
    // Closed loop: intended = actual send, and each request waits only for its own service.
    assert.equal(l.intended_us, l.client.sent_us);
    assert.ok(latency(l) < 10 * SERVICE_MS * 1000, `${latency(l)} µs`);
  }
});
