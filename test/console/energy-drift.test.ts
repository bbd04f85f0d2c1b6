/**
 * The whole path against a known power: a real server running factorial, a real Modbus TCP server
 * (the simulated Gude with exact registers) whose power steps 3 → 8 W while the suite runs, the real
 * meter, sampler, driver and recorder. The baselines read 3 and 8 W, the drift is reported in
 * run.json and as a caveat in summary.md, every energy of both windows lies within its uncertainty of
 * the schedule's integral, and every isolated energy (truly zero: the step is in the idle power)
 * within its isolated uncertainty once re-taken against the interpolated baseline.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nowUs } from '../../src/clock.js';
import { Driver } from '../../src/console/driver.js';
import { meterAttribution } from '../../src/console/energy.js';
import { recordRun } from '../../src/console/recorder.js';
import { RunDirectory } from '../../src/console/run-directory.js';
import { parseSuite } from '../../src/console/suite.js';
import { openMeter } from '../../src/meter/open-meter.js';
import { Sampler } from '../../src/meter/sampler.js';
import { startSimulatedPdu, type SimulatedPdu } from '../../src/meter/simulated-pdu.js';
import { EnergyLineSchema, InvocationLineSchema, RunJsonSchema, type Energy } from '../../src/protocol/results.js';
import { joinEnergy } from '../../src/report/energy-join.js';
import type { TestServer } from '../helpers/server.js';
import { readJsonLines, serverWith, tempDir } from './helpers.js';

let server: TestServer;
let pdu: SimulatedPdu;
let out: string;
/** When the power steps from 3 to 8 W (bench clock µs; set once the measured invocations begin). */
let stepAtUs = Infinity;
const power = (t: number): number => (t < stepAtUs ? 3 : 8);
const integral = (a: number, b: number): number => 3 * Math.max(0, Math.min(b, stepAtUs) - a) + 8 * Math.max(0, b - Math.max(a, stepAtUs));

before(async () => {
  server = await serverWith(['factorial']);
  let refreshes = 0;
  pdu = await startSimulatedPdu({
    port: 0,
    powerW: () => power(nowUs()),
    values: () => {
      const w = power(nowUs());
      const volts = refreshes++ % 2 ? 250 : 200;
      return { energy_wh: 0, power_w: w, voltage_v: volts, current_a: (w * 1000) / volts / 1000, frequency_hz: 50, pf: 1 };
    },
  });
  out = await tempDir('nebula-drift-');
});

after(async () => {
  await pdu.close();
  await server.close();
  await rm(out, { recursive: true, force: true });
});

test('a step in idle power during a run: drift reported and flagged, every energy within its uncertainty of the truth', async () => {
  const suite = parseSuite(
    'name: drift\nruntimes: [wasm]\nrepetitions: 30\nbaseline: { seconds: 0.6, after: true }\nfunctions:\n  - { name: factorial, inputs: [5, 10] }\n',
    null,
  );
  const meter = await openMeter(pdu.spec);
  const sampler = new Sampler(meter);
  const driver = new Driver({
    suite,
    client: server.client,
    runId: 'drift-test',
    health: await server.client.health(),
    nowUs,
    meter: { spec: pdu.spec, description: meter.describe(), source: sampler, attribution: meterAttribution },
  });
  driver.on('phase', (p) => {
    // A quarter of a second into the measured calls the idle power steps up, and stays up.
    if (p.phase === 'measure') stepAtUs = nowUs() + 250_000;
  });
  const dir = RunDirectory.create(out, 'drift-test');
  const { finish } = recordRun(driver, dir, null);
  const done = await driver.run();
  await meter.close();
  const outcome = finish(done);
  assert.equal(done.status, 'completed', done.error ?? '');

  const run = RunJsonSchema.parse(JSON.parse(await readFile(join(dir.dir, 'run.json'), 'utf8')));
  assert.equal(run.baseline.before?.power_w, 3);
  assert.equal(run.baseline.after?.power_w, 8);
  assert.equal(run.baseline.drift_w, 5);
  assert.ok(run.baseline.before?.from_us && run.baseline.after?.to_us, 'the baselines carry their times');
  assert.ok(run.meter.observed && run.meter.observed.samples > 100, JSON.stringify(run.meter.observed));
  assert.match(outcome.markdown, /> \*\*Caveat:\*\* idle power drifted \+5\.000 W \(3\.000 → 8\.000 W\), large against the median isolated power/);
  assert.match(outcome.markdown, /isolated \(invocation\) p50/);

  const lines = (await readJsonLines(join(dir.dir, 'invocations.jsonl'))).map((l) => InvocationLineSchema.parse(l));
  const energies = (await readJsonLines(join(dir.dir, 'energy.jsonl'))).map((l) => EnergyLineSchema.parse(l));
  assert.equal(energies.length, lines.length);
  const joined = joinEnergy(lines, energies, run.baseline);
  let checked = 0;
  for (const l of joined) {
    for (const e of [l.energy, l.energy_invocation] as (Energy | null | undefined)[]) {
      assert.ok(e?.window && e.energy_uwh !== null && e.uncertainty_uwh != null, `seq ${l.seq}: ${JSON.stringify(e)}`);
      const truth = integral(e.window.start_us, e.window.end_us) / 3600;
      assert.ok(Math.abs(e.energy_uwh - truth) <= e.uncertainty_uwh + 1e-9, `seq ${l.seq} ${e.window.span}: ${e.energy_uwh} vs truth ${truth} ± ${e.uncertainty_uwh}`);
      assert.ok(Math.abs(e.isolated_energy_uwh!) <= e.isolated_uncertainty_uwh! + 1e-9, `seq ${l.seq} ${e.window.span}: isolated ${e.isolated_energy_uwh} ± ${e.isolated_uncertainty_uwh}`);
      checked++;
    }
  }
  assert.equal(checked, 2 * 60);
});
