import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSimulatedPdu, type SimulatedPdu } from '../../src/meter/index.js';
import { EnergyLineSchema, InvocationLineSchema, RunJsonSchema, SampleLineSchema, type InvocationLine } from '../../src/protocol/results.js';
import type { TestServer } from '../helpers/server.js';
import { onlyRunDir, packageTracer, readJsonLines, runCli, serverWith, tempDir, waitFor, writeSuite } from './helpers.js';

let server: TestServer;
let pdu: SimulatedPdu;
const cleanup: string[] = [];

before(async () => {
  server = await serverWith(['fibonacci-recursive', 'factorial']);
  pdu = await startSimulatedPdu({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await pdu.close();
  await server.close();
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function workDir(): Promise<string> {
  const dir = await tempDir();
  cleanup.push(dir);
  return dir;
}

const E2E_SUITE = `name: e2e
runtimes: [wasm, native]
repetitions: 2
warmup: 1
baseline: { seconds: 1 }
functions:
  - { name: fibonacci-recursive, inputs: [5, 20] }
  - { name: factorial, inputs: [3, 10] }
thresholds:
  - { metric: error_rate, below: 0.01 }
  - { metric: total_us, stat: max, below: 60000000 }
`;

test('console --ci runs a suite against a real server and the Modbus meter, streams every file and loads no React', async () => {
  const dir = await workDir();
  const suite = await writeSuite(dir, E2E_SUITE);
  const out = join(dir, 'results');
  const trace = join(dir, 'packages.txt');
  const preload = await packageTracer(dir, trace);
  const { done } = runCli(['console', suite, '--ci', '--out', out, '--target', server.url, '--meter', pdu.spec], {}, ['--import', preload]);
  const { code, stdout, stderr } = await done;
  assert.equal(code, 0, `exit code; stderr:\n${stderr}`);

  // --ci never loads React or Ink (the trace does see the packages the run uses).
  const packages = new Set((await readFile(trace, 'utf8')).split('\n').filter(Boolean));
  assert.ok(packages.has('yaml') && packages.has('undici') && packages.has('modbus-serial'), [...packages].join(','));
  assert.ok(!packages.has('react') && !packages.has('ink'), `loaded: ${[...packages].join(', ')}`);

  // stderr: progress; stdout: the summary table and the verdicts.
  assert.match(stderr, /^nebula: suite e2e → http:\/\/127\.0\.0\.1:\d+ .*20 invocations$/m);
  assert.match(stderr, /^baseline before: \d+\.\d{3} W from \d+ samples$/m);
  assert.match(stderr, /^progress 20\/20 \(100%\)/m);
  // The end summary fits 80 columns: function names on their own line, then a row per runtime.
  assert.match(stdout, /^fibonacci-recursive\n {2}wasm +4 +0 +\S+ \S+ +\S+ \S+ +\S+ µWh\n {2}native +4 +0 /m);
  assert.match(stdout, /^factorial\n {2}wasm +4 +0 .*\n {2}native +4 +0 /m);
  assert.ok(stdout.split('\n').every((line) => line.length <= 80 || line.startsWith('Run completed') || line.startsWith('Details')), stdout);
  assert.match(stdout, /^Details \(p95, exec time, energy, warm-ups\): .*summary\.md$/m);
  assert.match(stdout, /^ {2}ok {5}error_rate below 0\.01 \(got 0\.00\)$/m);
  assert.match(stdout, /^Run completed: 20 invocations, 0 failed\. Results in /m);

  const runDir = await onlyRunDir(out);
  assert.match(runDir, /e2e-\d{8}-\d{6}$/);
  const run = RunJsonSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
  assert.equal(run.status, 'completed');
  assert.equal(run.target.url, server.url);
  assert.equal(run.target.health?.ok, true);
  assert.equal(run.meter.spec, pdu.spec);
  assert.match(run.meter.description ?? '', /Gude/);
  assert.ok(run.clock && run.clock.uncertainty_us >= 0);
  assert.ok(run.baseline.before && run.baseline.before.samples > 0 && run.baseline.before.power_w! > 0);
  assert.ok(run.baseline.after && run.baseline.after.samples > 0);
  assert.equal(typeof run.baseline.drift_w, 'number');
  assert.deepEqual(run.runtimes, ['wasm', 'native']);
  assert.ok(run.ended_at && run.ended_at >= run.started_at);

  const lines = (await readJsonLines(join(runDir, 'invocations.jsonl'))).map((l) => InvocationLineSchema.parse(l));
  // 2 functions × (1 warm-up × 2 runtimes + 2 inputs × 2 reps × 2 runtimes)
  assert.equal(lines.length, 20);
  assert.deepEqual(lines.map((l) => l.seq), [...Array(20).keys()]);
  assert.deepEqual(
    lines.slice(0, 10).map((l) => [l.function, l.runtime, l.input, l.rep, l.warmup]),
    [
      ['fibonacci-recursive', 'wasm', '5', 0, true],
      ['fibonacci-recursive', 'native', '5', 0, true],
      ['fibonacci-recursive', 'wasm', '5', 0, false],
      ['fibonacci-recursive', 'native', '5', 0, false],
      ['fibonacci-recursive', 'wasm', '5', 1, false],
      ['fibonacci-recursive', 'native', '5', 1, false],
      ['fibonacci-recursive', 'wasm', '20', 0, false],
      ['fibonacci-recursive', 'native', '20', 0, false],
      ['fibonacci-recursive', 'wasm', '20', 1, false],
      ['fibonacci-recursive', 'native', '20', 1, false],
    ],
  );
  const energies = (await readJsonLines(join(runDir, 'energy.jsonl'))).map((l) => EnergyLineSchema.parse(l));
  assert.deepEqual(energies.map((e) => e.seq), [...Array(20).keys()]);
  for (const line of lines) {
    assert.equal(line.ok, true);
    assert.equal(line.run_id, run.run_id);
    assert.ok(line.metrics && line.metrics.received_us <= line.metrics.started_us && line.metrics.started_us <= line.metrics.ended_us);
    assert.ok(line.client.sent_us <= line.client.replied_us);
    assert.deepEqual(line.clock, { offset_us: line.clock!.offset_us, uncertainty_us: line.clock!.uncertainty_us });
    assert.equal(line.energy, undefined, 'energy is in energy.jsonl, not in the line');
    const e = energies[line.seq]!;
    assert.equal(e.run_id, run.run_id);
    assert.equal(e.energy?.method, 'integrated');
    assert.equal(e.energy_thesis?.method, 'thesis');
    assert.equal(e.energy?.baseline_w, run.baseline.before!.power_w);
    // A loaded host can make a read time out (a gap): then the estimate is null with a note, never invented.
    assert.ok(e.energy!.energy_uwh! > 0 || /meter gap/.test(e.energy!.note ?? ''), `energy of seq ${line.seq}: ${JSON.stringify(e)}`);
  }
  assert.equal(lines.find((l) => l.function === 'fibonacci-recursive' && l.input === '20')?.output, '6765');

  const samples = (await readJsonLines(join(runDir, 'samples.jsonl'))).map((s) => SampleLineSchema.parse(s));
  assert.ok(samples.length > run.baseline.before!.samples, `${samples.length} samples`);

  const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as {
    status: string;
    totals: { invocations: number; measured: number; warmups: number; errors: number };
    groups: { function: string; runtime: string; measured: number }[];
    thresholds: { passed: boolean }[];
  };
  assert.equal(summary.status, 'completed');
  assert.deepEqual(summary.totals, { invocations: 20, measured: 16, warmups: 4, errors: 0 });
  assert.deepEqual(
    summary.groups.map((g) => `${g.function}/${g.runtime}/${g.measured}`),
    ['fibonacci-recursive/wasm/4', 'fibonacci-recursive/native/4', 'factorial/wasm/4', 'factorial/native/4'],
  );
  assert.deepEqual(summary.thresholds.map((t) => t.passed), [true, true]);
  assert.match(await readFile(join(runDir, 'summary.md'), 'utf8'), /## Thresholds\n\n- ✓ error_rate below 0\.01: 0\.00\n/);
});

test('a missed threshold fails the run with exit 1 and prints the threshold', async () => {
  const dir = await workDir();
  const suite = await writeSuite(
    dir,
    `name: slo
runtimes: [wasm]
functions:
  - { name: factorial, inputs: [3] }
thresholds:
  - { metric: startup_us, runtime: wasm, stat: p50, below: 0 }
`,
  );
  const { code, stdout } = await runCli(['console', suite, '--ci', '--out', join(dir, 'r'), '--target', server.url]).done;
  assert.equal(code, 1);
  assert.match(stdout, /^ {2}FAILED p50 startup_us\[wasm\] below 0 \(got \d+\)$/m);
});

test('preflight lists every missing deployment and unavailable runtime in one error', async () => {
  const dir = await workDir();
  const suite = await writeSuite(
    dir,
    `name: missing
runtimes: [wasm, native]
functions:
  - { name: factorial, inputs: [3] }
  - { name: exponential, inputs: [3] }
  - { name: prime-number, inputs: [3] }
`,
  );
  const missing = await runCli(['console', suite, '--ci', '--out', join(dir, 'r'), '--target', server.url]).done;
  assert.equal(missing.code, 4, 'not deployed');
  assert.equal(
    missing.stderr,
    `nebula: target ${server.url} is not ready for suite "missing":
  - exponential: not deployed
  - prime-number: not deployed
  hint: Deploy them: nebula build functions/exponential functions/prime-number && nebula deploy functions/exponential functions/prime-number --target ${server.url}
`,
  );
  assert.equal(existsSync(join(dir, 'r')), false, 'no run directory before preflight passes');

  const docker = await writeSuite(dir, 'name: d\nruntimes: [wasm, docker]\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  const unavailable = await runCli(['console', docker, '--ci', '--out', join(dir, 'r'), '--target', server.url]).done;
  assert.equal(unavailable.code, 5, 'runtime unavailable');
  assert.match(unavailable.stderr, /^ {2}- runtime docker is unavailable on the target: .+$/m);
  assert.match(unavailable.stderr, /hint: Start the missing engine on the target, or drop docker from the suite's runtimes\./);
});

test('an unreachable target is exit 3 with a hint, before any file is written', async () => {
  const dir = await workDir();
  const suite = await writeSuite(dir, 'name: u\nruntimes: [wasm]\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  const { code, stderr } = await runCli(['console', suite, '--ci', '--out', join(dir, 'r'), '--target', 'http://127.0.0.1:1']).done;
  assert.equal(code, 3);
  assert.match(stderr, /^nebula: cannot reach http:\/\/127\.0\.0\.1:1: /);
  assert.match(stderr, /hint: Is `nebula serve` running there\?/);
});

async function linesOf(runDir: string): Promise<InvocationLine[]> {
  return (await readJsonLines(join(runDir, 'invocations.jsonl'))).map((l) => InvocationLineSchema.parse(l));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} mid-run ends honestly: complete lines, summary written, run.json interrupted, no threshold judged, exit 130`, async () => {
    const dir = await workDir();
    const suite = await writeSuite(
      dir,
      `name: ${signal.toLowerCase()}\nruntimes: [wasm]\nrepetitions: 100000\nfunctions:\n  - { name: factorial, inputs: [3] }\nthresholds:\n  - { metric: error_rate, below: 0.01 }\n`,
    );
    const out = join(dir, 'r');
    const { child, done } = runCli(['console', suite, '--ci', '--out', out, '--target', server.url, '--meter', pdu.spec]);
    let runDir = '';
    await waitFor(async () => {
      if (!existsSync(out)) return false;
      runDir = await onlyRunDir(out).catch(() => '');
      return runDir !== '' && existsSync(join(runDir, 'invocations.jsonl')) && (await readFile(join(runDir, 'invocations.jsonl'), 'utf8')).split('\n').length > 10;
    }, 'ten invocations');
    child.kill(signal);
    const { code, stdout, stderr } = await done;
    assert.equal(code, 130, stderr);
    assert.match(stderr, new RegExp(`^nebula: ${signal}: stopping after the invocation in flight`, 'm'));
    const run = RunJsonSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
    assert.equal(run.status, 'interrupted');
    assert.ok(run.ended_at);
    const lines = await linesOf(runDir);
    assert.ok(lines.length >= 10);
    assert.deepEqual(lines.map((l) => l.seq), [...Array(lines.length).keys()]);
    assert.ok(lines.every((l) => l.ok));
    // A clean stop waits for the meter to cover the last window: every line has its energy record.
    const energies = (await readJsonLines(join(runDir, 'energy.jsonl'))).map((l) => EnergyLineSchema.parse(l));
    assert.deepEqual(energies.map((e) => e.seq), lines.map((l) => l.seq));
    assert.ok(energies.every((e) => e.energy !== null), JSON.stringify(energies.find((e) => !e.energy)));
    const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as {
      status: string;
      totals: { invocations: number };
      thresholds: { passed: boolean; judged: boolean; note: string }[];
    };
    assert.equal(summary.status, 'interrupted');
    assert.equal(summary.totals.invocations, lines.length);
    // The error rate was 0 — it would have held — but a partial run proves nothing: not judged.
    assert.deepEqual(summary.thresholds.map((t) => [t.passed, t.judged, t.note]), [[false, false, 'not judged: the run interrupted']]);
    assert.match(await readFile(join(runDir, 'summary.md'), 'utf8'), /^- – error_rate below 0\.01: 0\.00, not judged: the run interrupted$/m);
    assert.match(stdout, /^ {2}not judged error_rate below 0\.01 \(got 0\.00, not judged: the run interrupted\)$/m);
    assert.doesNotMatch(stdout, /^ {2}ok /m);
    assert.match(stdout, new RegExp(`^Run interrupted: ${lines.length} invocations, 0 failed\\.`, 'm'));
    (await readJsonLines(join(runDir, 'samples.jsonl'))).forEach((s) => SampleLineSchema.parse(s));
  });
}

test('a target that dies mid-run is recorded, retried, and ends the run with exit 3 keeping everything', async () => {
  const own = await serverWith(['factorial']);
  const dir = await workDir();
  const suite = await writeSuite(dir, 'name: dies\nruntimes: [wasm]\nrepetitions: 100000\nretries: 2\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  const out = join(dir, 'r');
  const { done } = runCli(['console', suite, '--ci', '--out', out, '--target', own.url]);
  let runDir = '';
  try {
    await waitFor(async () => {
      if (!existsSync(out)) return false;
      runDir = await onlyRunDir(out).catch(() => '');
      return runDir !== '' && existsSync(join(runDir, 'invocations.jsonl')) && (await readFile(join(runDir, 'invocations.jsonl'), 'utf8')).split('\n').length > 5;
    }, 'five invocations');
  } finally {
    await own.close();
  }
  const { code, stderr } = await done;
  assert.equal(code, 3, stderr);
  assert.match(stderr, /^nebula: run failed: the target http:\/\/127\.0\.0\.1:\d+ stopped answering: .+ \(3 attempts for seq \d+\)$/m);
  const run = RunJsonSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /stopped answering/);
  const lines = await linesOf(runDir);
  const lastSeq = lines.at(-1)!.seq;
  const retried = lines.filter((l) => l.seq === lastSeq);
  assert.equal(retried.length, 3, `the first try and two retries are recorded: ${JSON.stringify(retried.map((l) => l.request_error))}`);
  for (const line of retried) {
    assert.equal(line.ok, false);
    assert.equal(line.metrics, null);
    assert.equal(line.request_error?.code, 'unreachable');
  }
  // While the server shuts down it refuses new connections and still answers on open ones — 503
  // shutting-down — so the last requests before it went silent may be refused or answered errors
  // (a retry may find a keep-alive connection after a refused one; more of them on a loaded machine,
  // where closing takes a while), and the one in flight when it went down may have failed any way;
  // before them, every invocation succeeded.
  const earlier = lines.filter((l) => l.seq !== lastSeq);
  const firstFailure = earlier.findIndex((l) => !l.ok);
  const tail = firstFailure < 0 ? [] : earlier.slice(firstFailure);
  assert.ok(
    tail.slice(0, -1).every((l) => l.request_error?.code === 'shutting-down' || l.request_error?.code === 'unreachable'),
    JSON.stringify(tail.map((l) => [l.seq, l.request_error, l.error])),
  );
  const failedCount = lines.filter((l) => !l.ok).length;
  const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as { status: string; totals: { errors: number } };
  assert.equal(summary.status, 'failed');
  assert.equal(summary.totals.errors, failedCount);
});

test('SIGKILL during a meter outage loses no completed invocation: every answer the server gave is a line on disk', async () => {
  const own = await serverWith(['factorial']);
  const meter = await startSimulatedPdu({ host: '127.0.0.1', port: 0 });
  const dir = await workDir();
  const suite = await writeSuite(dir, 'name: outage\nruntimes: [wasm]\nrepetitions: 100000\nbaseline: { seconds: 0 }\nfunctions:\n  - { name: factorial, inputs: [3] }\n');
  const out = join(dir, 'r');
  const { child, done } = runCli(['console', suite, '--ci', '--out', out, '--target', own.url, '--meter', meter.spec]);
  let runDir = '';
  const lineCount = async (): Promise<number> => (await readFile(join(runDir, 'invocations.jsonl'), 'utf8')).split('\n').length - 1;
  try {
    await waitFor(async () => {
      if (!existsSync(out)) return false;
      runDir = await onlyRunDir(out).catch(() => '');
      return runDir !== '' && existsSync(join(runDir, 'invocations.jsonl')) && (await lineCount()) >= 10;
    }, 'ten invocations');
    // The outage: the meter goes away; invocations go on while the console waits for it.
    await meter.close();
    const atOutage = await lineCount();
    await waitFor(async () => (await lineCount()) >= atOutage + 20, 'twenty invocations during the outage');
    child.kill('SIGKILL');
    await done;
    const answered = Number(/^nebula_invocations_total\{function="factorial",runtime="wasm"\} (\d+)$/m.exec(await (await fetch(`${own.url}/metrics`)).text())?.[1]);
    const lines = await linesOf(runDir);
    // At most the one request in flight at the kill was answered without its line.
    assert.ok(answered - lines.length >= 0 && answered - lines.length <= 1, `server answered ${answered}, ${lines.length} lines on disk`);
    assert.deepEqual(lines.map((l) => l.seq), [...Array(lines.length).keys()]);
    // The lines did not wait for energy: the records of the outage's invocations never came.
    const energies = await readJsonLines(join(runDir, 'energy.jsonl'));
    assert.ok(energies.length < lines.length - 10, `${energies.length} energy records for ${lines.length} lines`);
  } finally {
    await meter.close().catch(() => undefined);
    await own.close();
  }
});
