/**
 * The report on energies it cannot defend: counts of flagged values per function × runtime, ratios
 * refused (with why and what to do) when their inputs are mostly too short or negative, a drift caveat,
 * and a non-zero exit for a run with no usable invocation. Real files, the real CLI.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Energy, EnergyLine, InvocationLine, RunJson } from '../../src/protocol/results.js';
import { line } from './lines.js';
import { nebula } from './cli.js';


const T0 = 1_714_755_235_000_000;

function runJson(id: string, before: number, after: number): RunJson {
  return {
    run_id: id,
    suite: { name: 'flags', file: null },
    versions: { nebula: '0.1.0', node: 'v20' },
    target: { url: 'http://127.0.0.1:3090', health: null },
    meter: { spec: 'modbus://127.0.0.1:5020', description: null },
    clock: { offset_us: 0, uncertainty_us: 10 },
    baseline: {
      before: { from_us: T0 - 2_000_000, to_us: T0 - 1_000_000, seconds: 1, samples: 500, power_w: before, spread_w: 0.01 },
      after: { from_us: T0 + 200_000_000, to_us: T0 + 201_000_000, seconds: 1, samples: 500, power_w: after, spread_w: 0.01 },
      drift_w: after - before,
    },
    runtimes: ['wasm', 'docker'],
    started_at: '2024-05-03T12:00:00.000Z',
    ended_at: '2024-05-03T12:05:00.000Z',
    status: 'completed',
    error: null,
  };
}

/** An energy over the line's run window with `avgW` average power. */
function energyOf(l: InvocationLine, span: 'run' | 'invocation', avgW: number, measurable: boolean, baselineW: number): Energy {
  const m = l.metrics!;
  const [start, end] = span === 'run' ? [m.started_us, m.ended_us] : [m.received_us, l.client.replied_us];
  const e = (avgW * (end - start)) / 3600;
  return {
    method: 'integrated',
    window: { span, start_us: start, end_us: end },
    samples: 2,
    avg_power_w: avgW,
    energy_uwh: e,
    uncertainty_uwh: e * 0.01,
    baseline_w: baselineW,
    isolated_energy_uwh: e - (baselineW * (end - start)) / 3600,
    isolated_uncertainty_uwh: e * 0.02,
    largest_hole_us: 1400,
    measurable,
    note: measurable ? null : 'window of 300 µs is shorter than the meter\'s sampling interval (1400 µs): not measurable alone',
  };
}

async function writeRun(dir: string, run: RunJson, lines: InvocationLine[], energies: EnergyLine[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'run.json'), JSON.stringify(run));
  await writeFile(path.join(dir, 'invocations.jsonl'), lines.map((l) => JSON.stringify({ ...l, energy: undefined })).join('\n') + '\n');
  await writeFile(path.join(dir, 'energy.jsonl'), energies.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(dir, 'summary.json'), '{}');
}

let tmp: string;
let flagged: string;
let drifted: string;
let empty: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nebula-flags-'));
  // 10 wasm calls of 300 µs (8 too short for the meter), 10 docker calls of 300 ms (4 below idle).
  const lines: InvocationLine[] = [];
  const energies: EnergyLine[] = [];
  for (let i = 0; i < 20; i++) {
    const wasm = i < 10;
    const l = line({ seq: i, runtime: wasm ? 'wasm' : 'docker', startup: wasm ? 200 : 300_000, exec: wasm ? 300 : 300_000 });
    lines.push(l);
    const run = energyOf(l, 'run', wasm ? 3.5 : i % 5 === 0 || i % 5 === 1 ? 2.4 : 4, !wasm || i >= 8, 2.5);
    energies.push({ run_id: l.run_id, seq: i, energy: run, energy_thesis: null, energy_invocation: energyOf(l, 'invocation', wasm ? 3.5 : 4, !wasm || i >= 8, 2.5) });
  }
  flagged = path.join(tmp, 'flagged');
  await writeRun(flagged, runJson('flagged', 2.5, 2.5), lines, energies);
  drifted = path.join(tmp, 'drifted');
  await writeRun(drifted, runJson('drifted', 2.5, 4.5), lines, energies);
  empty = path.join(tmp, 'empty');
  const failed = lines.slice(0, 3).map((l) => ({ ...l, ok: false, error: 'exit 1' }));
  await writeRun(empty, runJson('empty', 2.5, 2.5), failed, []);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('flagged energies are counted per function × runtime and a ratio resting mostly on them is refused, saying why and what to do', async () => {
  const r = await nebula('report', flagged, '--resamples', '200');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| runtime \| isolated energy \(run\): values \| flagged \| < 0 \| isolated energy \(invocation\): values \| flagged \| < 0 \|/);
  assert.match(r.stdout, /\| wasm \| 10 of 10 \| 8 \| 0 \| 10 of 10 \| 8 \| 0 \|/);
  assert.match(r.stdout, /\| docker \| 10 of 10 \| 0 \| 4 \| 10 of 10 \| 0 \| 0 \|/);
  assert.match(r.stdout, /no isolated energy \(run\) ratio for docker \/ wasm: of 10 wasm values 8 come from windows too short for the meter to measure alone — no ratio; measure batches or a load stage \(energy per call\), use longer inputs, or a meter that refreshes faster/);
  assert.match(r.stdout, /- \*\*energy \(run\)\*\*: docker .* — \*\*no ratio\*\*: of 10 wasm values 8 come from windows too short/);
  // Times are not energies: their ratio is printed.
  assert.match(r.stdout, /- \*\*startup\*\*: docker .* — \*\*[\d,.]+× \[/);
  assert.doesNotMatch(r.stdout, /Caveat/);
  const json = JSON.parse((await nebula('report', flagged, '--resamples', '200', '--format', 'json')).stdout) as {
    targets: { headlines: { metric: string; ratio: { estimate: number | null }; refused?: string }[]; functions: { runtimes: { runtime: string; energy_flags?: Record<string, { not_measurable: number; negative: number }> }[] }[] }[];
  };
  const t = json.targets[0]!;
  const iso = t.headlines.find((h) => h.metric === 'isolated_energy_uwh')!;
  assert.equal(iso.ratio.estimate, null, 'no number where the ratio is refused');
  assert.match(iso.refused!, /8 come from windows too short/);
  assert.equal(t.functions[0]!.runtimes.find((x) => x.runtime === 'docker')!.energy_flags!.isolated_energy_uwh!.negative, 4);
});

test('a drift large against the isolated power is a caveat in the report, and isolated energies are re-taken against the interpolated baseline', async () => {
  const r = await nebula('report', drifted, '--resamples', '200');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /idle baseline 2\.5 W before the run, drift \+2\.000 W by its end/);
  assert.match(r.stdout, /> \*\*Caveat:\*\* idle power drifted \+2\.000 W \(2\.500 → 4\.500 W\), large against the median isolated power/);
});

test('a run with no usable invocation exits 1 with a message naming it; beside a usable run the report is still written', async () => {
  const alone = await nebula('report', empty);
  assert.equal(alone.code, 1);
  assert.equal(alone.stdout, '');
  assert.match(alone.stderr, new RegExp(`nebula: error: ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no usable invocation — 3 recorded: 0 warm-up, 3 failed, none measured`));
  const both = await nebula('report', flagged, empty, '--resamples', '200');
  assert.equal(both.code, 1);
  assert.match(both.stdout, /^# Nebula report/);
  assert.match(both.stderr, /no usable invocation/);
});
