import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSimulatedPdu, type SimulatedPdu } from '../../../src/meter/index.js';
import { InvocationLineSchema, StageLineSchema } from '../../../src/protocol/results.js';
import type { TestServer } from '../../helpers/server.js';
import { onlyRunDir, readJsonLines, runCli, serverWith, tempDir, writeSuite } from '../helpers.js';

let server: TestServer;
let pdu: SimulatedPdu;
let dir: string;
before(async () => {
  server = await serverWith(['fibonacci-recursive']);
  pdu = await startSimulatedPdu({ host: '127.0.0.1', port: 0 });
  dir = await tempDir('nebula-load-e2e-');
});
after(async () => {
  await pdu.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('console --ci drives a rate sweep on two runtimes with the Modbus meter: a line per stage, stages.jsonl, and a report with the curves and the saturation point', async () => {
  const suite = await writeSuite(
    dir,
    'name: ld-sweep\nruntimes: [wasm, native]\nbaseline: { seconds: 0.5, after: false }\nload: { arrivals: constant, max_in_flight: 8, stages: [{ rate: 5, seconds: 0.6 }, { rate: 20, seconds: 0.6 }] }\nfunctions:\n  - { name: fibonacci-recursive, inputs: [5] }\n',
  );
  const out = join(dir, 'results');
  const { code, stderr, stdout } = await runCli(['console', suite, '--ci', '--out', out, '--target', server.url, '--meter', pdu.spec]).done;
  assert.equal(code, 0, stderr);
  // --ci: one line per stage, in order, with counts, rate, latency and energy per invocation.
  const stageLines = stderr.split('\n').filter((l) => l.startsWith('stage '));
  assert.equal(stageLines.length, 4, stderr);
  assert.match(stageLines[0]!, /^stage wasm #0 \(5 req\/s constant, 0\.6 s\): 3 sent, \d+ completed, \d+ failed, \d+ dropped; [\d.]+ req\/s achieved; latency p50 .+ p99 .+ from the intended send \(send lateness p99 .+\); [\d.]+ W, .+ per invocation/);
  assert.match(stageLines[3]!, /^stage native #1 \(20 req\/s constant, 0\.6 s\): 12 sent,/);
  // The terminal summary stays within 80 columns; the stage table is in summary.md.
  assert.match(stdout, /summary\.md/);

  const runDir = await onlyRunDir(out);
  assert.match(await readFile(join(runDir, 'summary.md'), 'utf8'), /## Load stages/);
  const stages = (await readJsonLines(join(runDir, 'stages.jsonl'))).map((v) => StageLineSchema.parse(v));
  const lines = (await readJsonLines(join(runDir, 'invocations.jsonl'))).map((v) => InvocationLineSchema.parse(v));
  assert.equal(lines.length, stages.reduce((n, s) => n + s.sent, 0));
  for (const s of stages) {
    assert.equal(s.sent, s.completed + s.failed + s.dropped);
    assert.ok(s.energy && s.energy.method === 'integrated' && s.energy.avg_power_w! > 0, JSON.stringify(s.energy));
  }

  const md = await runCli(['report', runDir]).done;
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /### Load stages/);
  assert.match(md.stdout, /^(wasm|native) (saturates at [\d.]+ req\/s|kept up with every rate offered \(up to 20 req\/s)/m);
  assert.match(md.stdout, /\| 1 \| 20 req\/s constant \| 20 \|/);
  const html = await runCli(['report', runDir, '--format', 'html']).done;
  assert.equal(html.code, 0, html.stderr);
  for (const title of ['load: throughput vs offered rate', 'load: latency from the intended send vs offered rate', 'load: average power vs throughput', 'load: energy per completed invocation vs offered rate']) {
    assert.ok(html.stdout.includes(title), title);
  }
  assert.match(html.stdout, /<h3[^>]*>Load stages<\/h3>/);
});
