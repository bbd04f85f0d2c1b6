import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { buildReport } from '../../src/report/compare.js';
import { serialize as csv, csvField, CSV_COLUMNS } from '../../src/report/export/csv.js';
import { serialize as json } from '../../src/report/export/json.js';
import { serialize as markdown } from '../../src/report/export/markdown.js';
import { serialize as thesis, type ThesisRecord } from '../../src/report/export/thesis.js';
import { loadRuns } from '../../src/report/load.js';
import { FunctionResultSchema } from '../../src/protocol/api.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'runs');
const PI = path.join(fixtures, 'pi-default-20240503-120000');
const VM = path.join(fixtures, 'vm-default-20240504-090000');

const runs = await loadRuns([PI]);
const ctx = { report: buildReport(runs), runs };
const both = await loadRuns([PI, VM]);
const ctxBoth = { report: buildReport(both), runs: both };

test('the comparison gives the thesis aggregate and the docker/wasm startup ratio with a CI', () => {
  const t = ctx.report.targets[0];
  assert.ok(t);
  const fib = t.functions.find((f) => f.function === 'fibonacci-recursive');
  const wasm = fib?.runtimes.find((r) => r.runtime === 'wasm');
  const docker = fib?.runtimes.find((r) => r.runtime === 'docker');
  assert.equal(wasm?.metrics.startup_us.median, 140);
  assert.equal(wasm?.metrics.startup_us.aggregate, 140.25); // median over 4 inputs of per-input medians
  assert.equal(docker?.metrics.startup_us.median, 403_796);
  const vs = docker?.vs_baseline?.startup_us;
  assert.equal(vs?.ratio.estimate, 405_153.25 / 140.25);
  assert.ok((vs?.ratio.low ?? 0) < 2889 && 2889 < (vs?.ratio.high ?? 0));
  assert.equal(vs?.test.u1, 576); // every docker startup exceeds every wasm startup
  assert.ok((vs?.test.p ?? 1) < 1e-8);
  const h = t.headlines.find((x) => x.metric === 'startup_us' && x.runtime === 'docker');
  assert.equal(h?.value, 407_993.5);
  assert.equal(h?.baseline_value, 141.5);
  assert.deepEqual([t.counts.measured, t.counts.warmups, t.counts.errors], [125, 6, 1]);
});

test('another --baseline flips the ratios', () => {
  const r = buildReport(runs, { baseline: 'docker' });
  const wasm = r.targets[0]?.functions[0]?.runtimes.find((x) => x.runtime === 'wasm');
  assert.equal(r.targets[0]?.functions[0]?.runtimes[0]?.runtime, 'docker');
  assert.equal(wasm?.vs_baseline?.startup_us.ratio.estimate, 140.25 / 405_153.25);
});

test('markdown has the headline, the per-function table and the per-input rows', () => {
  const md = markdown(ctx);
  assert.ok(md.includes('- **startup**: docker 408 ms vs wasm 142 µs — **2,883× [2,570–3,128×]**'), md);
  assert.ok(md.includes('| wasm | 24 | 0 | 1 | 140 µs [128 µs–157 µs] |'), md);
  assert.ok(md.includes('| docker | 17 | 1 | 1 | 407 ms [383 ms–442 ms] |'), 'prime-number docker row with its failure');
  assert.match(md, /\| 25 \| 142 µs \| 972 µs \| 432 ms \| 6\.87× \| 3,051× \|/);
  assert.ok(!md.includes('## Targets side by side'), 'a single run has no side-by-side table');
});

test('markdown puts several targets side by side, labelled by target', () => {
  const md = markdown(ctxBoth);
  assert.ok(md.includes('| metric | runtime | arm64 @ raspberrypi.local:3090 | x64 @ 10.0.0.5:3090 |'), md);
  assert.ok(md.includes('| startup | docker / wasm | 408 ms vs 142 µs: 2,883× [2,570–3,128×] | 295 ms vs 64.5 µs: 4,572× [3,904–4,916×] |'), md);
  // The Pi fixture's energies are all flagged shorter than the sampling interval: no ratio from them.
  assert.ok(md.includes('| energy (run) | docker / wasm | 406 µWh vs 0.392 µWh: no ratio (mostly flagged values) | — |'), 'the VM had no meter');
});

test('CSV is tidy: a header and one RFC 4180 row per invocation, warm-ups and failures flagged', () => {
  const text = csv(ctx);
  const rows = text.split('\r\n');
  assert.equal(rows.at(-1), '', 'ends with CRLF');
  assert.equal(rows[0], CSV_COLUMNS.join(','));
  assert.equal(rows.length - 2, 132);
  assert.equal(
    rows[1],
    'arm64 @ raspberrypi.local:3090,default-20240503-120000,0,fibonacci-recursive,wasm,0,0,true,true,0,function,1714737605000000,1714737605000385,1714737605000481,,1714737605000484,481,3,,484,integrated,0,3.3852,0.4551,2.474,0.1225,window shorter than the sampling interval (50 ms): interpolated,,,,,,,,1234,180,,0',
  );
  const failed = rows.find((r) => r.includes('container killed'));
  assert.match(failed ?? '', /,docker,1000,2,false,false,137,/);
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(null), '');
  assert.equal(csvField('plain'), 'plain');
});

test('JSON holds every figure, NaN as null, and parses back', () => {
  const parsed = JSON.parse(json(ctxBoth)) as { baseline: string; targets: { label: string; headlines: { metric: string }[]; functions: { runtimes: { metrics: { energy_uwh: { median: number | null } } }[] }[] }[] };
  assert.equal(parsed.baseline, 'wasm');
  assert.deepEqual(parsed.targets.map((t) => t.label), ['arm64 @ raspberrypi.local:3090', 'x64 @ 10.0.0.5:3090']);
  assert.equal(parsed.targets[1]?.functions[0]?.runtimes[0]?.metrics.energy_uwh.median, null, 'no meter: null, not NaN');
  assert.equal(parsed.targets[0]?.headlines.length, 10);
});

test('the thesis format has one FunctionResult-shaped record per measured wasm/docker invocation, its analysis fields inside metrics', () => {
  const records = JSON.parse(thesis(ctx)) as ThesisRecord[];
  assert.equal(records.length, 24 + 24 + 18 + 17);
  for (const r of records) FunctionResultSchema.parse(r);
  const first = records[0];
  assert.equal(first?.func_type, 'Wasm');
  assert.equal(first?.base_image, 'N/A');
  assert.equal(first?.metrics.total_runtime, first ? first.metrics.end_since_epoch - first.metrics.start_since_epoch : NaN);
  assert.equal(first?.metrics.startup_percentage, Math.round((126 / 129) * 100));
  // This fixture predates the invocation window: its energy is over the function's run only, which
  // is not the thesis' figure, so none is written.
  assert.equal(first?.metrics.energy_consumption_wh, null);
  assert.deepEqual(Object.keys(first ?? {}), ['func_name', 'func_type', 'input', 'result', 'base_image', 'metrics']);
  const docker = records.find((r) => r.func_type === 'Docker');
  assert.equal(docker?.base_image, 'scratch');
});
