/**
 * Idle power over time (docs/energy.md, "Baseline and drift"): measured before the run and after it,
 * and in between interpolated linearly between the middles of the two phases. Isolated energy is
 * taken against that line, and its uncertainty grows with the drift — nothing says the idle power
 * moved linearly, only that it went from one level to the other — so a run whose drift is large
 * against what the invocations cost is called out instead of printed as if it were clean.
 * Pure: no I/O.
 */
import type { Baseline, Energy, InvocationLine } from '../protocol/results.js';
import { UWH_PER_W_US } from './attribution.js';

/** MAD → σ for normally distributed noise. */
const MAD_TO_SD = 1.4826;
/** |drift| above this share of the median isolated power flags the run. */
const DRIFT_SHARE = 0.25;

export interface BaselinePhases {
  before: Baseline | null;
  after: Baseline | null;
}

/** The idle power at bench time t and how far it may be off, W (null without a baseline). */
export interface BaselineAt {
  power_w: number;
  uncertainty_w: number;
}

const middle = (b: Baseline): number | null => (b.from_us !== undefined && b.to_us !== undefined ? (b.from_us + b.to_us) / 2 : null);
const standardError = (b: Baseline): number => (b.spread_w !== null && b.samples > 0 ? (MAD_TO_SD * b.spread_w) / Math.sqrt(b.samples) : 0);

/** Drift after − before, W (null without both). */
export function driftW(phases: BaselinePhases): number | null {
  const { before, after } = phases;
  return before?.power_w != null && after?.power_w != null ? after.power_w - before.power_w : null;
}

/**
 * The baseline at t: before's level alone when there is no after (or no times to place them), else
 * the line through the two phases' middles (held flat outside them). Uncertainty: the phases'
 * standard errors plus the distance to the farther of the two levels (a step anywhere in between
 * would put the truth there).
 */
export function baselineAt(phases: BaselinePhases, t: number): BaselineAt | null {
  const { before, after } = phases;
  if (before?.power_w == null) return after?.power_w != null ? { power_w: after.power_w, uncertainty_w: standardError(after) } : null;
  const t0 = middle(before);
  const t1 = after ? middle(after) : null;
  if (after?.power_w == null || t0 === null || t1 === null || t1 <= t0) return { power_w: before.power_w, uncertainty_w: standardError(before) };
  const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
  const power = before.power_w + f * (after.power_w - before.power_w);
  const spread = Math.max(Math.abs(power - before.power_w), Math.abs(power - after.power_w));
  return { power_w: power, uncertainty_w: spread + Math.max(standardError(before), standardError(after)) };
}

/**
 * An energy isolated against the baseline of its window's middle (copies; the input is not
 * mutated). The line is linear, so ∫ B dt over the window = B(middle) · Δt.
 */
export function isolate(energy: Energy, phases: BaselinePhases): Energy {
  const w = energy.window;
  if (!w || energy.energy_uwh === null) return energy;
  const b = baselineAt(phases, (w.start_us + w.end_us) / 2);
  if (!b) return energy;
  const durationWh = (w.end_us - w.start_us) * UWH_PER_W_US;
  // Object.assign, not a spread followed by properties: runs for every energy of every line in a
  // summary or report, and that spread is a slow path on Node 20 (bench/object-spread.ts).
  return Object.assign({}, energy, {
    baseline_w: b.power_w,
    isolated_energy_uwh: energy.energy_uwh - b.power_w * durationWh,
    isolated_uncertainty_uwh: energy.uncertainty_uwh == null ? null : energy.uncertainty_uwh + b.uncertainty_w * durationWh,
  });
}

/** The figure a drift is weighed against: the median isolated power of the measured invocations, W. */
export function medianIsolatedPowerW(lines: readonly InvocationLine[]): number | null {
  const powers: number[] = [];
  for (const l of lines) {
    if (l.warmup || !l.ok) continue;
    const e = l.energy ?? l.energy_invocation;
    if (!e || e.isolated_energy_uwh === null) continue;
    // Files written before energies named their window: `energy` was over the run (exec_us).
    const durationUs = e.window ? e.window.end_us - e.window.start_us : (l.metrics?.exec_us ?? 0);
    if (durationUs <= 0) continue;
    powers.push(e.isolated_energy_uwh / (durationUs * UWH_PER_W_US));
  }
  if (powers.length === 0) return null;
  powers.sort((a, b) => a - b);
  const mid = powers.length >> 1;
  return powers.length % 2 ? powers[mid]! : (powers[mid - 1]! + powers[mid]!) / 2;
}

export interface DriftCaveat {
  drift_w: number;
  median_isolated_w: number;
  /** One line for the summary, the TUI and the report. */
  message: string;
}

/** The caveat of a run whose idle power drifted by more than a quarter of its median isolated power (null: none). */
export function driftCaveat(phases: BaselinePhases, lines: readonly InvocationLine[]): DriftCaveat | null {
  return driftCaveatFor(driftW(phases), medianIsolatedPowerW(lines), phases);
}

/** driftCaveat from the two figures (the TUI keeps them live). */
export function driftCaveatFor(drift: number | null, medianIsolated: number | null, phases?: BaselinePhases): DriftCaveat | null {
  // Without isolated energies there is nothing the drift could spoil (and nothing to weigh it against).
  if (drift === null || drift === 0 || medianIsolated === null) return null;
  if (Math.abs(drift) <= DRIFT_SHARE * Math.abs(medianIsolated)) return null;
  const levels = phases?.before?.power_w != null && phases.after?.power_w != null ? ` (${phases.before.power_w.toFixed(3)} → ${phases.after.power_w.toFixed(3)} W)` : '';
  const against = `median isolated power ${medianIsolated.toFixed(3)} W`;
  return {
    drift_w: drift,
    median_isolated_w: medianIsolated,
    message: `idle power drifted ${drift >= 0 ? '+' : ''}${drift.toFixed(3)} W${levels}, large against the ${against}: isolated energies rest on an interpolated baseline (uncertain by up to the drift × duration) — let the device settle, or measure shorter blocks with baselines between`,
  };
}
