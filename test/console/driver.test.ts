import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, test } from 'node:test';
import { nowUs } from '../../src/clock.js';
import { toBenchUs } from '../../src/console/clock-offset.js';
import { Driver, type SampleSource } from '../../src/console/driver.js';
import { meterAttribution } from '../../src/console/energy.js';
import { parseSuite } from '../../src/console/suite.js';
import type { EnergyLine, Gap, InvocationLine, Sample } from '../../src/protocol/results.js';
import { TargetClient } from '../../src/client/target.js';
import { startSlowTarget } from '../helpers/slow-target.js';
import type { TestServer } from '../helpers/server.js';
import { serverWith } from './helpers.js';

let server: TestServer;

before(async () => {
  server = await serverWith(['factorial', 'fibonacci-recursive']);
});

after(async () => {
  await server.close();
});

/** The bench clock of these tests runs 10 s behind the server's, so offset = server − bench ≈ +10 s. */
const SKEW_US = 10_000_000;
const benchNowUs = (): number => nowUs() - SKEW_US;

/**
 * A meter on the bench clock reading a constant 5 W every `everyMs`. A real sampler reads the real
 * realtime clock, which cannot be skewed against a loopback server; this source can.
 */
class SkewedSource extends EventEmitter<{ sample: [Sample]; gap: [Gap] }> implements SampleSource {
  #timer: NodeJS.Timeout | undefined;
  constructor(readonly everyMs: number) {
    super();
  }
  start(): void {
    this.#timer = setInterval(() => {
      const t = benchNowUs();
      this.emit('sample', { t_start_us: t - 500, t_end_us: t, power_w: 5 });
    }, this.everyMs);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

test('the driver maps server stamps onto the bench clock (bench = server − offset), emits each line at once and its energy only after a sample past its end, the last one too', async () => {
  const suite = parseSuite('name: skew\nruntimes: [wasm]\nrepetitions: 3\nmeter_interval_ms: 300\nfunctions:\n  - { name: factorial, inputs: [3] }\n', null);
  const source = new SkewedSource(300);
  const driver = new Driver({
    suite,
    client: server.client,
    runId: 'skew-test',
    health: await server.client.health(),
    nowUs: benchNowUs,
    meter: { spec: 'test', description: null, source, attribution: meterAttribution },
  });
  let latestSampleStartUs = -Infinity;
  const order: string[] = [];
  const lines: InvocationLine[] = [];
  const energies: { record: EnergyLine; latestSampleStartUs: number }[] = [];
  driver.on('sample', (s) => (latestSampleStartUs = Math.max(latestSampleStartUs, s.t_start_us)));
  driver.on('invocation', (line) => {
    order.push(`line ${line.seq}`);
    lines.push(line);
  });
  driver.on('energy', (record) => {
    order.push(`energy ${record.seq}`);
    energies.push({ record, latestSampleStartUs });
  });
  const done = await driver.run();
  assert.equal(done.status, 'completed');
  assert.equal(done.exitCode, 0);
  assert.deepEqual(lines.map((l) => l.seq), [0, 1, 2]);
  assert.deepEqual(energies.map((e) => e.record.seq), [0, 1, 2]);
  for (const seq of [0, 1, 2]) assert.ok(order.indexOf(`line ${seq}`) < order.indexOf(`energy ${seq}`), order.join(', '));
  for (const [i, { record, latestSampleStartUs: latest }] of energies.entries()) {
    const line = lines[i]!;
    assert.equal(line.energy, undefined, 'lines carry no energy: it comes in its own record');
    const clock = line.clock!;
    // Loopback: the estimate finds the skew to within its uncertainty.
    assert.ok(Math.abs(clock.offset_us - SKEW_US) <= clock.uncertainty_us + 1000, `offset ${clock.offset_us} ± ${clock.uncertainty_us}`);
    const endBench = toBenchUs(line.metrics!.ended_us, clock);
    assert.ok(latest > endBench, `seq ${line.seq}'s energy emitted before a sample started after its end (${latest} ≤ ${endBench})`);
    // The window on the bench clock lies among the samples: a wrong sign would put it 20 s away.
    assert.ok(record.energy!.energy_uwh! > 0, JSON.stringify(record.energy));
    assert.ok(Math.abs(record.energy!.avg_power_w! - 5) < 1e-9, JSON.stringify(record.energy));
  }
});

test('stop() twice aborts the invocation in flight: its line is recorded as aborted and the run ends interrupted', async () => {
  // fib(44) runs for seconds in wasm: without the abort, the run would wait for it and record it ok.
  const suite = parseSuite('name: force\nruntimes: [wasm]\nrepetitions: 1\nwarmup: 0\nfunctions:\n  - { name: fibonacci-recursive, inputs: [44] }\n', null);
  // A client whose invoke, once the request is under way, asks the driver to stop twice.
  const driver = new Driver({
    suite,
    client: new Proxy(server.client, {
      get(target, key) {
        if (key !== 'invoke') {
          const value = Reflect.get(target, key, target) as unknown;
          // Methods touch private fields: call them on the real client, not on the proxy.
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return (...args: Parameters<typeof target.invoke>) => {
          const pending = target.invoke(...args);
          setImmediate(() => {
            driver.stop();
            driver.stop();
          });
          return pending;
        };
      },
    }),
    runId: 'force-test',
    health: await server.client.health(),
    nowUs: benchNowUs,
    meter: null,
  });
  const lines: InvocationLine[] = [];
  driver.on('invocation', (line) => lines.push(line));
  const done = await driver.run();
  assert.equal(done.status, 'interrupted');
  assert.equal(done.exitCode, 130, 'interrupted (ExitCode.Interrupted)');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.ok, false);
  assert.equal(lines[0]!.request_error?.code, 'aborted');
});

/** Runs `suiteText` against `client` with no meter; returns the lines and the non-fatal errors. */
async function runPlain(
  suiteText: string,
  client = server.client,
  clock: () => number = nowUs,
): Promise<{ lines: InvocationLine[]; errors: string[]; status: string; startedAt: string; endedAt: string }> {
  const driver = new Driver({
    suite: parseSuite(suiteText, null),
    client,
    runId: 'settle-test',
    health: { ok: true, version: 'test', arch: process.arch, runtimes: { wasm: true, component: false, docker: false, native: true } },
    nowUs: clock,
    meter: null,
  });
  const lines: InvocationLine[] = [];
  const errors: string[] = [];
  let startedAt = '';
  driver.on('start', (e) => (startedAt = e.startedAt));
  driver.on('invocation', (line) => lines.push(line));
  driver.on('error', (e) => errors.push(e.message));
  const done = await driver.run();
  return { lines, errors, status: done.status, startedAt, endedAt: done.endedAt };
}

test('the driver takes time only from the injected clock: a bench clock 20 years back stamps everything', async () => {
  const back = 20 * 365 * 86_400_000_000;
  const { lines, startedAt, endedAt, status } = await runPlain('name: s\nruntimes: [wasm]\nrepetitions: 2\nfunctions:\n  - { name: factorial, inputs: [3] }\n', server.client, () => nowUs() - back);
  assert.equal(status, 'completed');
  const year = new Date().getUTCFullYear() - 20;
  for (const iso of [startedAt, endedAt]) assert.ok([year - 1, year, year + 1].includes(new Date(iso).getUTCFullYear()), iso);
  for (const l of lines) assert.ok(Math.abs(l.client.sent_us - (nowUs() - back)) < 600_000_000, 'sent_us on the injected clock');
});

test('settle auto (the default): each line records the settled wait and the runtime invoked before it', async () => {
  const { lines, errors } = await runPlain('name: s\nruntimes: [wasm, native]\nrepetitions: 2\nwarmup: 1\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  assert.deepEqual(errors, []);
  assert.equal(lines.length, 6);
  for (const line of lines) {
    assert.equal(line.settle?.settled, true, `seq ${line.seq}: ${JSON.stringify(line.settle)}`);
    assert.ok(line.settle.waited_us >= 0 && line.settle.waited_us < 10_000_000);
  }
  assert.deepEqual(
    lines.map((l) => l.predecessor),
    [null, ...lines.slice(0, -1).map((l) => l.runtime)],
    'predecessor is the runtime of the invocation sent just before, warm-ups included',
  );
});

test('settle as a number pauses that long before each invocation; settle: 0 records nothing', async () => {
  const paused = await runPlain('name: s\nruntimes: [wasm]\nrepetitions: 2\nsettle: 40\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  for (const line of paused.lines) {
    assert.equal(line.settle?.settled, null);
    // libuv times in whole ms from a cached loop time, so a 40 ms timer may fire up to ~1 ms early.
    assert.ok((line.settle?.waited_us ?? 0) >= 38_000, `waited ${line.settle?.waited_us} µs of 40 ms`);
  }
  const off = await runPlain('name: s\nruntimes: [wasm]\nrepetitions: 2\nsettle: 0\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  assert.deepEqual(off.lines.map((l) => l.settle), [undefined, undefined]);
});

test('a bad settle value is refused with what is allowed', () => {
  for (const bad of ['soon', '-5', '1.5', '70000']) {
    assert.throws(() => parseSuite(`name: s\nruntimes: [wasm]\nsettle: ${bad}\nfunctions:\n  - { name: factorial, inputs: [3] }\n`, null), /settle/, bad);
  }
});

test('settle auto against a target without GET /settled: one warning, then invocations go on unsettled', async () => {
  const target = await startSlowTarget(1);
  const client = new TargetClient(target.url, { timeoutMs: 10_000 });
  try {
    const { lines, errors, status } = await runPlain('name: s\nruntimes: [wasm]\nrepetitions: 3\nfunctions:\n  - { name: factorial, inputs: [3] }\n', client);
    assert.equal(status, 'completed');
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.settle), [undefined, undefined, undefined]);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /GET \/settled/);
  } finally {
    await client.close();
    await target.close();
  }
});
