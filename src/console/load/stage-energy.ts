/**
 * Energy of a load stage (docs/results.md, "Load"). Under load, invocation windows overlap, so energy
 * is not attributed per invocation; instead, over the stage's window T:
 *
 *   per invocation = (E_stage − P_baseline · T) / completed
 *
 * with one standard uncertainty from the two means it rests on (independent errors added in
 * quadrature):  u = T · √(s²_stage / n_stage + σ²_baseline / n_baseline) / completed,
 * where s_stage is the standard deviation of the power samples read inside the window and
 * σ_baseline = 1.4826 · MAD of the idle baseline (the MAD's consistent estimate of σ for normal
 * noise). It leaves out drift of the idle power during the run (run.json's `drift_w` shows it).
 * Pure: no I/O.
 */
import { UWH_PER_W_US } from '../../meter/attribution.js';
import type { Baseline, Energy, StageEnergy } from '../../protocol/results.js';
import { sd } from '../../report/stats.js';

/** MAD → σ for normally distributed noise. */
const MAD_TO_SD = 1.4826;

/**
 * `whole` is the integrated energy of the stage window (attribution with the baseline power);
 * `powers` the samples read inside the window; `baseline` the idle phase it was measured in.
 */
export function stageEnergy(whole: Energy, powers: readonly number[], baseline: Baseline | null, durationUs: number, completed: number): StageEnergy {
  const perCompleted = (x: number | null): number | null => (x === null || completed === 0 ? null : x / completed);
  let uncertainty: number | null = null;
  if (whole.isolated_energy_uwh !== null && completed > 0 && powers.length >= 2 && baseline?.spread_w != null && baseline.samples > 0) {
    const stageVar = sd(powers) ** 2 / powers.length;
    const baseVar = (MAD_TO_SD * baseline.spread_w) ** 2 / baseline.samples;
    uncertainty = (durationUs * UWH_PER_W_US * Math.sqrt(stageVar + baseVar)) / completed;
  }
  return {
    ...whole,
    per_invocation_uwh: perCompleted(whole.isolated_energy_uwh),
    per_invocation_uncertainty_uwh: uncertainty,
    gross_per_invocation_uwh: perCompleted(whole.energy_uwh),
  };
}
