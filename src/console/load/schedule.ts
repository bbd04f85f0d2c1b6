/**
 * Open-loop arrival schedules: when each request of a stage is due, as µs from the stage's start.
 * Constant arrivals are evenly spaced (k / rate); Poisson arrivals have exponential gaps
 * (−ln(1 − u) / rate, the inverse CDF) drawn from the project's seeded PRNG, so the same seed gives
 * the same schedule. The whole schedule is computed before the stage starts: nothing is drawn on the
 * hot path between sends.
 */
import { createRng } from '../../report/prng.js';
import type { Arrivals } from './stages.js';

/** Offsets (µs from the stage start, ascending, all < seconds · 10⁶) of the stage's requests. */
export function arrivalOffsets(rate: number, seconds: number, arrivals: Arrivals, seed = 1): Float64Array {
  const spanUs = seconds * 1e6;
  const gapUs = 1e6 / rate;
  if (arrivals === 'constant') {
    const n = Math.ceil(spanUs / gapUs - 1e-9);
    return Float64Array.from({ length: n }, (_, k) => k * gapUs);
  }
  const rng = createRng(seed);
  const out: number[] = [];
  let t = -Math.log(1 - rng()) * gapUs;
  while (t < spanUs) {
    out.push(t);
    t += -Math.log(1 - rng()) * gapUs;
  }
  return Float64Array.from(out);
}
