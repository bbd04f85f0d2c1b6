/**
 * Energy checked against the truth: a real Modbus TCP server (the simulated Gude, serving exact
 * registers — 200 V, 5·W mA, PF 1.000, so V × I × PF = W exactly) whose power follows a known
 * schedule of the bench clock, read by the real ModbusMeter and Sampler, attributed by the ledger.
 * Every window's energy must lie within its stated uncertainty of the schedule's integral; a step in
 * idle power must show up as drift and as a caveat; holes (reads held up by a busy event loop) and a
 * slow-refreshing device must widen the uncertainty, not break it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { nowUs } from '../../src/clock.js';
import { meterAttribution } from '../../src/console/energy.js';
import { EnergyLedger } from '../../src/console/energy-ledger.js';
import { estimateBaseline } from '../../src/meter/attribution.js';
import { driftCaveat } from '../../src/meter/baseline-drift.js';
import { openMeter } from '../../src/meter/open-meter.js';
import { Sampler } from '../../src/meter/sampler.js';
import { startSimulatedPdu, type SimulatedPdu } from '../../src/meter/simulated-pdu.js';
import type { Energy, EnergyLine, InvocationLine, Sample } from '../../src/protocol/results.js';
import { joinEnergy } from '../../src/report/energy-join.js';
import { line as baseLine } from '../tui/lines.js';

const UWH_PER_W_US = 1 / 3600;

/** A power schedule of the bench clock: P(t) and ∫ P dt over [a, b] in W·µs. */
interface Schedule {
  power(t: number): number;
  integral(a: number, b: number): number;
}

const constant = (w: number): Schedule => ({ power: () => w, integral: (a, b) => w * (b - a) });

function step(from: number, to: number, atUs: number): Schedule {
  return {
    power: (t) => (t < atUs ? from : to),
    integral: (a, b) => from * Math.max(0, Math.min(b, atUs) - a) + to * Math.max(0, b - Math.max(a, atUs)),
  };
}

/** low for the first half of each period, high for the second, phase 0 at t0. */
function square(low: number, high: number, periodUs: number, t0: number): Schedule {
  const half = periodUs / 2;
  const power = (t: number): number => (((t - t0) % periodUs + periodUs) % periodUs < half ? low : high);
  // ∫ from t0 to x: whole periods plus the part of the last one.
  const cumulative = (x: number): number => {
    const k = Math.floor((x - t0) / periodUs);
    const r = x - t0 - k * periodUs;
    return k * (low + high) * half + (r < half ? low * r : low * half + high * (r - half));
  };
  return { power, integral: (a, b) => cumulative(b) - cumulative(a) };
}

const pdus: SimulatedPdu[] = [];
after(async () => {
  for (const p of pdus) await p.close();
});

/**
 * Serves `schedule` with exact registers; refreshes every `refreshMs` (0: every read). The voltage
 * alternates 200 / 250 V at each refresh (mA = 5·W or 4·W, so V × I stays exactly W) — a real device's
 * values change at every refresh even when the power does not.
 */
async function knownPowerPdu(schedule: Schedule, refreshMs = 0): Promise<SimulatedPdu> {
  let refreshes = 0;
  const pdu = await startSimulatedPdu({
    port: 0,
    refreshMs,
    powerW: () => schedule.power(nowUs()),
    values: () => {
      const w = schedule.power(nowUs());
      const volts = refreshes++ % 2 ? 250 : 200;
      return { energy_wh: 0, power_w: w, voltage_v: volts, current_a: (w * 1000) / volts / 1000, frequency_hz: 50, pf: 1 };
    },
  });
  pdus.push(pdu);
  return pdu;
}

/** Reads the PDU for `ms`, optionally blocking the event loop now and then (a loaded bench: reads held up while succeeding). */
async function sample(pdu: SimulatedPdu, ms: number, stallMs = 0): Promise<Sample[]> {
  const meter = await openMeter(pdu.spec);
  const sampler = new Sampler(meter);
  const samples: Sample[] = [];
  sampler.on('sample', (s) => samples.push(s));
  sampler.start();
  const stall = stallMs > 0
    ? setInterval(() => {
        const until = performance.now() + stallMs * (0.3 + Math.random() * 0.7);
        while (performance.now() < until) {
          // busy: nothing else on this loop runs, so a read in flight takes this long
        }
      }, 97)
    : undefined;
  await new Promise((resolve) => setTimeout(resolve, ms));
  clearInterval(stall);
  await sampler.stop();
  await meter.close();
  return samples;
}

/** An invocation line whose run is [runStart, runEnd] and whole invocation [received, replied], all on the bench clock (offset 0). */
function invocation(seq: number, received: number, runStart: number, runEnd: number, replied: number): InvocationLine {
  return baseLine({
    seq,
    energy: undefined,
    clock: { offset_us: 0, uncertainty_us: 0 },
    client: { sent_us: received - 50, replied_us: replied },
    metrics: {
      received_us: received,
      ready_us: runStart,
      started_us: runStart,
      ended_us: runEnd,
      startup_us: runStart - received,
      exec_us: runEnd - runStart,
      total_us: runEnd - received,
    },
  });
}

/** Windows of 0.5–300 ms spread over [from, to] (deterministic: a fixed LCG). */
function windows(from: number, to: number, count: number): InvocationLine[] {
  let x = 12345;
  const rand = (): number => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: InvocationLine[] = [];
  for (let i = 0; i < count; i++) {
    const length = 500 + Math.floor(rand() ** 2 * 300_000);
    const received = from + Math.floor(rand() * (to - from - length - 2000));
    const runStart = received + Math.floor(length * 0.3 * rand());
    const runEnd = received + length;
    out.push(invocation(i, received, runStart, runEnd, runEnd + Math.floor(rand() * 1500)));
  }
  return out;
}

function attribute(samples: readonly Sample[], lines: readonly InvocationLine[], baseline?: { power_w: number | null }): { records: EnergyLine[]; ledger: EnergyLedger } {
  const ledger = new EnergyLedger(meterAttribution);
  if (baseline) ledger.setBaseline(baseline.power_w);
  const records: EnergyLine[] = [];
  for (const l of lines) records.push(...ledger.addInvocation(l));
  for (const s of samples) records.push(...ledger.addSample(s));
  records.push(...ledger.flush());
  return { records, ledger };
}

/** One line of figures per test (docs/energy.md quotes them). */
function report(what: string, c: Check, largestHoleUs: number): void {
  const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
  console.log(`${what}: ${c.checked} energies, ${c.overOnePercent} off by > 1 %, worst error ${pct(c.worstRelative)} of the truth and ${pct(c.worstShareOfBound)} of its bound; largest bound ${pct(c.worstRelativeBound)} of the truth; largest hole ${(largestHoleUs / 1000).toFixed(1)} ms`);
}

interface Check {
  checked: number;
  /** Energies off by more than 1 % of the truth (all still within their bound), and the largest relative bound. */
  overOnePercent: number;
  worstRelativeBound: number;
  worstRelative: number;
  /** Largest |error| / uncertainty (≤ 1 when every truth lies within its bound). */
  worstShareOfBound: number;
}

/** Every integrated energy within its uncertainty of the truth; returns how tight the bounds were. */
function checkAgainstTruth(records: readonly EnergyLine[], schedule: Schedule): Check {
  const check: Check = { checked: 0, overOnePercent: 0, worstRelativeBound: 0, worstRelative: 0, worstShareOfBound: 0 };
  for (const r of records) {
    for (const e of [r.energy, r.energy_invocation] as (Energy | null | undefined)[]) {
      assert.ok(e?.window, `seq ${r.seq}: every energy names its window`);
      assert.ok(e.energy_uwh !== null && e.uncertainty_uwh != null, `seq ${r.seq} ${e.window.span}: no estimate (${e.note})`);
      const truth = schedule.integral(e.window.start_us, e.window.end_us) * UWH_PER_W_US;
      const error = Math.abs(e.energy_uwh - truth);
      assert.ok(
        error <= e.uncertainty_uwh + 1e-9,
        `seq ${r.seq} ${e.window.span} [${e.window.start_us}, ${e.window.end_us}]: ${e.energy_uwh} µWh vs truth ${truth} µWh, error ${error} > uncertainty ${e.uncertainty_uwh} (hole ${e.largest_hole_us} µs)`,
      );
      check.checked++;
      if (truth > 0) check.worstRelative = Math.max(check.worstRelative, error / truth);
      if (truth > 0 && error > 0.01 * truth) check.overOnePercent++;
      if (truth > 0) check.worstRelativeBound = Math.max(check.worstRelativeBound, e.uncertainty_uwh / truth);
      if (e.uncertainty_uwh > 0) check.worstShareOfBound = Math.max(check.worstShareOfBound, error / e.uncertainty_uwh);
    }
  }
  return check;
}

test('constant 5 W: every window is 5 W × Δt, within an uncertainty that is only the register resolution', async () => {
  const pdu = await knownPowerPdu(constant(5));
  const samples = await sample(pdu, 1200);
  assert.ok(samples.length > 50, `${samples.length} samples`);
  const lines = windows(samples[0]!.t_end_us, samples.at(-1)!.t_start_us, 40);
  const { records } = attribute(samples, lines);
  const check = checkAgainstTruth(records, constant(5));
  assert.equal(check.checked, 80);
  report('constant', check, Math.max(...records.map((r) => r.energy!.largest_hole_us!)));
  assert.ok(check.worstRelative < 1e-9, `worst error ${check.worstRelative}`);
  for (const r of records) {
    const e = r.energy!;
    const dt = e.window!.end_us - e.window!.start_us;
    // Half a step of each register carried through V × I × PF: 1 V, 1 mA, 0.001 of PF (≤ 0.155 W at 5 W, 250 V).
    assert.ok(e.uncertainty_uwh! <= 0.5 * (1 * 0.025 + 250 * 0.001 + 250 * 0.025 * 0.001) * dt * UWH_PER_W_US + 1e-9, `seq ${r.seq}: ${e.uncertainty_uwh}`);
  }
});

test('step 3 → 8 W mid-run: every energy within its uncertainty, the drift is reported and isolated energies carry it', async () => {
  const startUs = nowUs();
  const schedule = step(3, 8, startUs + 700_000);
  const pdu = await knownPowerPdu(schedule);
  const samples = await sample(pdu, 1400);
  const first = samples[0]!.t_end_us;
  const last = samples.at(-1)!.t_start_us;
  const before = estimateBaseline(samples.filter((s) => s.t_end_us < first + 300_000));
  const afterPhase = estimateBaseline(samples.filter((s) => s.t_start_us > last - 300_000));
  assert.equal(before.power_w, 3);
  assert.equal(afterPhase.power_w, 8);
  const lines = windows(first + 300_000, last - 300_000, 40);
  const { records } = attribute(samples, lines, before);
  const check = checkAgainstTruth(records, schedule);
  assert.equal(check.checked, 80);
  report('step', check, Math.max(...records.map((r) => r.energy!.largest_hole_us!)));
  const phases = { before, after: afterPhase };
  const joined = joinEnergy(lines, records, phases);
  // The true isolated energy is 0 everywhere (the power is the idle power, which stepped): the
  // interpolated baseline is wrong by up to the drift, and its uncertainty says so.
  for (const l of joined) {
    for (const e of [l.energy!, l.energy_invocation!]) {
      assert.ok(Math.abs(e.isolated_energy_uwh!) <= e.isolated_uncertainty_uwh! + 1e-9, `seq ${l.seq} ${e.window!.span}: isolated ${e.isolated_energy_uwh} ± ${e.isolated_uncertainty_uwh}`);
    }
  }
  const caveat = driftCaveat(phases, joined);
  assert.ok(caveat, 'a 5 W drift against ~0 W isolated power is flagged');
  assert.equal(caveat.drift_w, 5);
  assert.match(caveat.message, /idle power drifted \+5\.000 W \(3\.000 → 8\.000 W\)/);
});

test('3 ↔ 8 W square wave on a loaded bench (reads held up 10–60 ms): holes are seen in the read stamps and every energy stays within its widened uncertainty', async () => {
  const t0 = nowUs();
  // Half a period (200 ms) stays longer than twice a typical read span even when a busy machine slows
  // every read: the bound assumes the meter resolves the load's changes outside holes.
  const schedule = square(3, 8, 400_000, t0);
  const pdu = await knownPowerPdu(schedule);
  const samples = await sample(pdu, 2500, 60);
  const lines = windows(samples[0]!.t_end_us, samples.at(-1)!.t_start_us, 120);
  const { records } = attribute(samples, lines);
  const check = checkAgainstTruth(records, schedule);
  assert.equal(check.checked, 240);
  const holes = records.map((r) => r.energy!.largest_hole_us!).sort((a, b) => b - a);
  assert.ok(holes[0]! > 10_000, `the stalls show as holes (largest ${holes[0]} µs)`);
  report('square wave, loaded', check, holes[0]!);
});

test('a device refreshing every 50 ms: the refresh period is measured, shorter windows are not measurable alone, and longer ones stay within their uncertainty', async () => {
  const t0 = nowUs();
  const schedule = square(3, 8, 400_000, t0);
  const pdu = await knownPowerPdu(schedule, 50);
  const samples = await sample(pdu, 2500);
  // Windows from 0.5 s on: by then the refresh period is known (a run's baseline phase gives it that time).
  const lines = windows(samples[0]!.t_end_us + 500_000, samples.at(-1)!.t_start_us, 60);
  const { records, ledger } = attribute(samples, lines);
  const facts = ledger.observer.facts();
  assert.ok(facts.refresh_us !== null && facts.interval_us !== null, JSON.stringify(facts));
  // Changes come every 50 ms, give or take a read; reads far more often.
  assert.ok(facts.refresh_us >= 40_000 && facts.refresh_us <= 60_000, `refresh ${facts.refresh_us} µs`);
  assert.ok(facts.interval_us < 10_000, `interval ${facts.interval_us} µs`);
  for (const r of records) {
    const e = r.energy!;
    const dt = e.window!.end_us - e.window!.start_us;
    assert.equal(e.measurable, dt >= ledger.observer.refreshUs!, `seq ${r.seq}: ${dt} µs, measurable ${e.measurable}`);
    if (!e.measurable) assert.match(e.note ?? '', /refresh period \(\d+ µs\): not measurable alone.*use batch or stage energy/);
  }
  const check = checkAgainstTruth(records, schedule);
  report(`refresh ${Math.round(facts.refresh_us / 1000)} ms (${records.filter((r) => r.energy!.measurable === false).length} of ${records.length} run windows not measurable alone)`, check, facts.largest_hole_us ?? 0);
});

test('3 ↔ 8 W square wave, unloaded: every energy within its uncertainty', async () => {
  const schedule = square(3, 8, 80_000, nowUs());
  const pdu = await knownPowerPdu(schedule);
  const samples = await sample(pdu, 2000);
  const lines = windows(samples[0]!.t_end_us, samples.at(-1)!.t_start_us, 120);
  const { records, ledger } = attribute(samples, lines);
  const check = checkAgainstTruth(records, schedule);
  report(`square wave, unloaded (${Math.round(1e6 / ledger.observer.intervalUs!)} reads/s)`, check, ledger.observer.facts().largest_hole_us ?? 0);
});
