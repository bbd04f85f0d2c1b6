/**
 * `nebula report --compare BASE NEW` against a deliberate regression: the Pi fixture run, and a copy
 * of it in which every wasm invocation's startup (and so total) is made 30% slower.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { compareBeforeAfter, regressions } from '../../src/report/before-after.js';
import { InvocationLineSchema, type InvocationLine } from '../../src/protocol/results.js';
import { nebula } from './cli.js';

const root = path.join(import.meta.dirname, '..', '..');
const BASE = path.join(root, 'test', 'fixtures', 'runs', 'pi-default-20240503-120000');
let tmp: string;
let slower: string;

async function linesOf(dir: string): Promise<InvocationLine[]> {
  const text = await readFile(path.join(dir, 'invocations.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => InvocationLineSchema.parse(JSON.parse(l)));
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nebula-compare-'));
  slower = path.join(tmp, 'pi-slower');
  await cp(BASE, slower, { recursive: true });
  const regressed = (await linesOf(BASE)).map((l) => {
    if (l.runtime !== 'wasm' || !l.metrics) return l;
    const extra = Math.round(l.metrics.startup_us * 0.3);
    const m = l.metrics;
    return { ...l, metrics: { ...m, started_us: m.started_us + extra, ended_us: m.ended_us + extra, startup_us: m.startup_us + extra, total_us: m.total_us + extra } };
  });
  await writeFile(path.join(slower, 'invocations.jsonl'), `${regressed.map((l) => JSON.stringify(l)).join('\n')}\n`);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('compareBeforeAfter finds the +30% wasm startup significant and leaves the untouched runtimes unchanged', async () => {
  const changes = compareBeforeAfter(await linesOf(BASE), await linesOf(slower));
  const startup = changes.filter((c) => c.metric === 'startup_us');
  for (const c of startup.filter((c) => c.runtime === 'wasm')) {
    assert.ok(c.significant, `${c.function}: p=${c.p}`);
    assert.ok(Math.abs(c.change.estimate - 0.3) < 0.02, `${c.function}: ${c.change.estimate}`);
    assert.ok(c.change.low > 0 && c.change.low <= c.change.estimate && c.change.estimate <= c.change.high);
  }
  for (const c of changes.filter((c) => c.runtime !== 'wasm')) {
    assert.equal(c.change.estimate, 0, `${c.function} ${c.runtime} ${c.metric}`);
    assert.equal(c.significant, false);
  }
  assert.deepEqual(regressions(changes, 0.5), [], 'nothing got 50% worse');
  assert.ok(regressions(changes, 0.1).every((c) => c.runtime === 'wasm'));
});

test('report --compare --fail-above 10% exits 1 on the regression, naming it; the same run twice exits 0', async () => {
  const r = await nebula('report', '--compare', BASE, slower, '--fail-above', '10%');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^startup \(median\) +BASE +NEW +change \[95% CI\] +p$/m);
  assert.match(r.stdout, /^fibonacci-recursive\n {2}wasm +\S+ µs +\S+ µs +\+(29|30|31)(\.\d)?% \[\+\S+%, \+\S+%\] +\S+( \S+)? FAIL$/m);
  assert.match(r.stdout, /^ {2}native +\S+ \S+ +\S+ \S+ +\+0% \[.*\] +1 ~$/m);
  assert.match(r.stderr, /^nebula: regression: fibonacci-recursive wasm startup_us \+\d+\.\d% \(p=.*\) is above --fail-above 10%$/m);
  assert.ok(r.stdout.split('\n').every((line) => line.length <= 80), 'fits 80 columns');

  const loose = await nebula('report', '--compare', BASE, slower, '--fail-above', '50');
  assert.equal(loose.code, 0, 'a 30% regression is within --fail-above 50');
  assert.match(loose.stdout, / worse$/m);

  const same = await nebula('report', '--compare', BASE, BASE, '--fail-above', '10%');
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stdout, / (worse|better|FAIL)$/m);
});

test('report --compare with one run, or --fail-above without --compare, is exit 2 naming the flag', async () => {
  const one = await nebula('report', '--compare', BASE);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /--compare takes two run directories \(BASE NEW\), got 1/);
  const alone = await nebula('report', BASE, '--fail-above', '10%');
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--fail-above goes with --compare BASE NEW/);
});

test('compareBeforeAfter compares prewarmed calls with prewarmed ones, never with cold ones', () => {
  const mk = (startup: number, mode: 'cold' | 'prewarmed', seq: number): InvocationLine =>
    InvocationLineSchema.parse({
      function: 'f', runtime: 'docker', input: '1', output: '1', ok: true, exit_code: 0, start_source: 'host', mode,
      metrics: { received_us: 0, ready_us: 0, started_us: startup, ended_us: startup + 10, startup_us: startup, exec_us: 10, total_us: startup + 10 },
      run_id: 'r', seq, rep: seq, warmup: false, client: { sent_us: 0, replied_us: 1 }, clock: null,
    });
  const run = (coldUs: number, warmUs: number): InvocationLine[] => Array.from({ length: 10 }, (_, i) => [mk(coldUs + i, 'cold', 2 * i), mk(warmUs + i, 'prewarmed', 2 * i + 1)]).flat();
  const changes = compareBeforeAfter(run(300_000, 400), run(300_000, 400), { resamples: 200 }).filter((c) => c.metric === 'startup_us');
  assert.deepEqual(changes.map((c) => [c.mode ?? 'cold', c.base.median, c.significant]), [['cold', 300_004.5, false], ['prewarmed', 404.5, false]]);
});
