import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { RunJsonSchema } from '../../src/protocol/results.js';
import { dockerAvailable, dockerRequired } from '../helpers/docker.js';
import { onlyRunDir, readJsonLines, runCli, tempDir, writeSuite } from './helpers.js';

/** Whether a process with this pid still runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('demo --ci runs a suite end to end on its own server and simulated meter processes, then stops and removes what it started', async () => {
  const dir = await tempDir('nebula-demo-test-');
  try {
    const suite = await writeSuite(
      dir,
      'name: demo-mini\nruntimes: [wasm, docker]\nrepetitions: 1\nbaseline: { seconds: 0.5 }\nfunctions:\n  - { name: factorial, inputs: [5] }\n',
    );
    const out = join(dir, 'results');
    const { code, stdout, stderr } = await runCli(['demo', '--ci', '--out', out, '--suite', suite]).done;
    assert.equal(code, 0, stderr);
    const server = /^demo: server on http:\/\/127\.0\.0\.1:\d+ \(pid (\d+), store (.+)\)$/m.exec(stderr);
    assert.ok(server, stderr);
    assert.equal(existsSync(server[2]!), false, 'the temporary store is removed');
    const pdu = /^demo: simulated Gude PDU on modbus:\/\/127\.0\.0\.1:\d+ \(pid (\d+);/m.exec(stderr);
    assert.ok(pdu, stderr);
    // The real topology: server and meter ran as their own processes, and neither outlives the demo.
    for (const pid of [Number(server[1]), Number(pdu[1])]) {
      assert.notEqual(pid, process.pid);
      assert.equal(running(pid), false, `process ${pid} still runs`);
    }
    const docker = await dockerAvailable();
    if (!docker) {
      assert.equal(dockerRequired(), false, 'NEBULA_REQUIRE_DOCKER=1 but no Docker engine answers');
      assert.match(stderr, /^demo: no Docker engine answers \(.+\): running without the docker runtime$/m);
    }
    const runDir = await onlyRunDir(out);
    const run = RunJsonSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
    assert.equal(run.status, 'completed');
    assert.match(run.meter.spec, /^modbus:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(run.runtimes, docker ? ['wasm', 'docker'] : ['wasm']);
    const lines = await readJsonLines(join(runDir, 'invocations.jsonl'));
    assert.equal(lines.length, docker ? 2 : 1);
    assert.match(stdout, /^factorial\n {2}wasm +1 +0 /m);
    assert.match(stderr, new RegExp(`^demo: done: results in ${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('demo without Docker drops the docker runtime and the thresholds that need it, says so, and exits 0', async () => {
  const dir = await tempDir('nebula-demo-nodocker-');
  try {
    const suite = await writeSuite(
      dir,
      `name: demo-nodocker
runtimes: [wasm, docker, native]
repetitions: 1
baseline: { seconds: 0.5 }
functions:
  - { name: factorial, inputs: [5] }
thresholds:
  - { ratio: startup_us, of: docker, over: wasm, stat: p50, above: 10 }
  - { metric: total_us, runtime: docker, stat: max, below: 60000000 }
  - { metric: error_rate, below: 0.01 }
`,
    );
    const out = join(dir, 'results');
    // A Docker socket that does not exist: the engine is "not installed" for this process only.
    const { code, stdout, stderr } = await runCli(['demo', '--ci', '--out', out, '--suite', suite], { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` }).done;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^demo: no Docker engine answers \(.+\): running without the docker runtime$/m);
    assert.match(stderr, /^demo: threshold dropped, it needs docker: p50 startup_us docker\/wasm above 10$/m);
    assert.match(stderr, /^demo: threshold dropped, it needs docker: max total_us\[docker\] below 60000000$/m);
    const runDir = await onlyRunDir(out);
    const run = RunJsonSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.runtimes, ['wasm', 'native']);
    const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as { thresholds: { label: string; passed: boolean }[] };
    assert.deepEqual(summary.thresholds.map((t) => [t.label, t.passed]), [['error_rate below 0.01', true]]);
    assert.match(stdout, /^ {2}ok {5}error_rate below 0\.01 \(got 0\.00\)$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C mid-demo stops the run and leaves nothing behind: no server, no meter process, no store', async () => {
  const dir = await tempDir('nebula-demo-sigint-');
  try {
    const suite = await writeSuite(dir, 'name: demo-long\nruntimes: [wasm]\nrepetitions: 100000\nbaseline: { seconds: 0.5 }\nfunctions:\n  - { name: factorial, inputs: [5] }\n');
    const { child, done } = runCli(['demo', '--ci', '--out', join(dir, 'results'), '--suite', suite]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 600 && !/invocations/.test(stderr) && !/^demo: simulated Gude PDU/m.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
    // Let the run start measuring, then interrupt it as a terminal would.
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    const server = /^demo: server on \S+ \(pid (\d+), store (.+)\)$/m.exec(result.stderr);
    const pdu = /^demo: simulated Gude PDU on \S+ \(pid (\d+);/m.exec(result.stderr);
    assert.ok(server && pdu, result.stderr);
    assert.equal(existsSync(server[2]!), false, 'the temporary store is removed');
    for (const pid of [Number(server[1]), Number(pdu[1])]) assert.equal(running(pid), false, `process ${pid} still runs`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
