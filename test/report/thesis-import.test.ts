/**
 * The thesis prototype's result files as runs of their own: read, labelled, their gaps warned about
 * (the share of calls without energy), side by side with a Nebula run in one table with ratios and
 * CIs; and `--format thesis` round-trips through the importer field for field. Fixtures are built from
 * the format's description (test/fixtures/thesis/generate.py).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Energy, EnergyLine, InvocationLine, RunJson } from '../../src/protocol/results.js';
import { loadRun } from '../../src/report/load.js';
import { line } from './lines.js';
import { nebula } from './cli.js';

const root = path.join(import.meta.dirname, '..', '..');
const PI = path.join('test', 'fixtures', 'thesis', 'pi-energy-2024-04-29.json');
const VM = path.join('test', 'fixtures', 'thesis', 'vm-2024-05-03.json');

let tmp: string;
let nebulaRun: string;

/** A Nebula run of fibonacci-recursive on wasm and docker with invocation-window energies. */
async function writeNebulaRun(dir: string): Promise<void> {
  const lines: InvocationLine[] = [];
  const energies: EnergyLine[] = [];
  let seq = 0;
  for (const input of ['0', '1', '2', '3']) {
    for (let rep = 0; rep < 6; rep++) {
      for (const runtime of ['wasm', 'docker'] as const) {
        const wasm = runtime === 'wasm';
        const l = line({ seq, fn: 'fibonacci-recursive', input, runtime, startup: wasm ? 150 + rep * 7 : 400_000 + rep * 9000, exec: wasm ? 20_000 + rep * 100 : 21_000 + rep * 100 });
        lines.push(l);
        const m = l.metrics!;
        const avg = wasm ? 3.2 + rep * 0.01 : 5.1 + rep * 0.02;
        const span = l.client.replied_us - m.received_us;
        const e: Energy = {
          method: 'integrated',
          window: { span: 'invocation', start_us: m.received_us, end_us: l.client.replied_us },
          samples: 30,
          avg_power_w: avg,
          energy_uwh: (avg * span) / 3600,
          uncertainty_uwh: 0.01,
          baseline_w: 2.5,
          isolated_energy_uwh: ((avg - 2.5) * span) / 3600,
          isolated_uncertainty_uwh: 0.02,
          largest_hole_us: 1500,
          measurable: true,
          note: null,
        };
        energies.push({ run_id: l.run_id, seq, energy: null, energy_thesis: null, energy_invocation: e });
        seq++;
      }
    }
  }
  const run: RunJson = {
    run_id: 'quick-1',
    suite: { name: 'quick', file: null },
    versions: { nebula: '0.1.0', node: 'v20' },
    target: { url: 'http://raspberrypi.local:3090', health: { ok: true, version: '0.1.0', arch: 'arm64', runtimes: { wasm: true, component: false, docker: true, native: false } } },
    meter: { spec: 'modbus://192.168.68.70', description: null },
    clock: { offset_us: 0, uncertainty_us: 100 },
    baseline: { before: null, after: null, drift_w: null },
    runtimes: ['wasm', 'docker'],
    started_at: '2024-05-03T12:00:00.000Z',
    ended_at: '2024-05-03T12:05:00.000Z',
    status: 'completed',
    error: null,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'run.json'), JSON.stringify(run));
  await writeFile(path.join(dir, 'invocations.jsonl'), lines.map((l) => JSON.stringify({ ...l, energy: undefined })).join('\n') + '\n');
  await writeFile(path.join(dir, 'energy.jsonl'), energies.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(dir, 'summary.json'), '{}');
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nebula-thesis-'));
  nebulaRun = path.join(tmp, 'quick-20240503-120000');
  await writeNebulaRun(nebulaRun);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('a thesis result file is read as a run of its own: every record a measured call, energy over the whole invocation in µWh, what it lacks warned about with the share of calls without energy', async () => {
  const run = await loadRun(PI);
  assert.equal(run.label, 'thesis pi-energy-2024-04-29.json');
  assert.equal(run.invocations.length, 96);
  const first = run.invocations[0]!;
  assert.equal(first.runtime, 'wasm');
  assert.deepEqual(
    { startup: first.metrics!.startup_us, total: first.metrics!.total_us, received: first.metrics!.received_us, ended: first.metrics!.ended_us },
    { startup: 2237, total: 4902, received: 1714386796546194, ended: 1714386796551096 },
  );
  assert.equal(first.energy, null, 'no run-window energy: the thesis measured whole invocations');
  assert.equal(first.energy_invocation!.window!.span, 'invocation');
  assert.ok(Math.abs(first.energy_invocation!.energy_uwh! - 4.9095) < 1e-9);
  assert.ok(Math.abs(first.energy_invocation!.isolated_energy_uwh! - 1.541393) < 1e-9);
  const messages = run.warnings.map((w) => w.message);
  assert.ok(messages.some((m) => /no clock offset/.test(m)), messages.join('\n'));
  assert.ok(messages.includes('25 of 48 wasm calls (52 %) have no energy: the thesis dropped windows with no sample inside or at/below idle power, so its wasm energy figures lean towards longer, costlier calls'), messages.join('\n'));
  const vm = await loadRun(VM);
  assert.ok(vm.warnings.some((w) => /has no energy \(no meter ran/.test(w.message)));
});

test('nebula report THESIS_FILE RUN_DIR shows the thesis\' figures beside Nebula\'s in one table, with ratios and CIs per runtime and per function', async () => {
  const r = await nebula('report', PI, nebulaRun, '--resamples', '300');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| metric \| runtime \| thesis pi-energy-2024-04-29\.json \| arm64 @ raspberrypi\.local:3090 \|/);
  assert.match(r.stdout, /\| startup \| docker \/ wasm \| [\d.]+ ms vs [\d.]+ ms: [\d,]+× \[[\d,]+–[\d,]+×\] \| [\d.]+ ms vs [\d.]+ µs: [\d,]+× \[[\d,]+–[\d,]+×\] \|/);
  assert.match(r.stdout, /\| isolated energy \(invocation\) \| docker \/ wasm \| [\d,.]+ µWh vs [\d,.]+ µWh: [\d,.]+× \[[\d,.]+–[\d,.]+×\] \| [\d,.]+ µWh vs [\d,.]+ µWh: [\d,.]+× \[/);
  assert.match(r.stdout, /### Per function, side by side/);
  assert.match(r.stdout, /\| fibonacci-recursive \| energy \(invocation\) \| docker \/ wasm \| [\d,.]+× \[[\d,.]+–[\d,.]+×\] \| [\d,.]+× \[[\d,.]+–[\d,.]+×\] \|/);
  assert.match(r.stdout, /Thesis result file .*pi-energy-2024-04-29\.json \(imported: the thesis prototype's own measurements, not a Nebula run\)/);
  assert.match(r.stderr, new RegExp(`nebula: warning: ${PI.replace(/\./g, '\\.')}: 25 of 48 wasm calls \\(52 %\\) have no energy`));
});

test('--format thesis round-trips: a thesis file through the importer comes back field for field, and a Nebula run\'s records read back as the same records', async () => {
  const original = JSON.parse(await readFile(path.join(root, PI), 'utf8')) as unknown[];
  const back = await nebula('report', PI, '--format', 'thesis');
  assert.equal(back.code, 0, back.stderr);
  assert.deepStrictEqual(JSON.parse(back.stdout), original);
  const vm = await nebula('report', VM, '--format', 'thesis');
  assert.deepStrictEqual(JSON.parse(vm.stdout), JSON.parse(await readFile(path.join(root, VM), 'utf8')));

  const fromNebula = await nebula('report', nebulaRun, '--format', 'thesis');
  assert.equal(fromNebula.code, 0, fromNebula.stderr);
  const records = JSON.parse(fromNebula.stdout) as { base_image: string; metrics: Record<string, number | null> }[];
  assert.equal(records.length, 48);
  const r0 = records[0]!;
  assert.deepEqual(Object.keys(r0), ['func_name', 'func_type', 'input', 'result', 'base_image', 'metrics']);
  assert.equal(r0.base_image, 'N/A');
  // The thesis' energy: average power over the whole invocation × total_runtime, in Wh.
  assert.equal(r0.metrics.energy_consumption_wh, Number(((3.2 * r0.metrics.total_runtime!) / 3.6e9).toPrecision(15)));
  assert.equal(r0.metrics.startup_percentage, Math.round((r0.metrics.startup_time! / r0.metrics.total_runtime!) * 100));
  const file = path.join(tmp, 'nebula-as-thesis.json');
  await writeFile(file, fromNebula.stdout);
  const again = await nebula('report', file, '--format', 'thesis');
  assert.deepStrictEqual(JSON.parse(again.stdout), records);
});

test('thesis records given as invocations.jsonl are named as such; a file that is not thesis records is refused naming what it expected', async () => {
  const dir = path.join(tmp, 'misplaced');
  await mkdir(dir);
  const records = (JSON.parse(await readFile(path.join(root, PI), 'utf8')) as unknown[]).slice(0, 3);
  await writeFile(path.join(dir, 'invocations.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const r = await nebula('report', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invocations\.jsonl:1: line 1 is a thesis FunctionResult record, not a Nebula line; skipped — pass the thesis result file \(a JSON array\) to nebula report as it is/);
  assert.match(r.stderr, /no usable invocation/);
  const notThesis = path.join(tmp, 'other.json');
  await writeFile(notThesis, JSON.stringify({ hello: 1 }));
  const bad = await nebula('report', notThesis);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /other\.json is not a thesis result file: expected a JSON array of FunctionResult records/);
});
