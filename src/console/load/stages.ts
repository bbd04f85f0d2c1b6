/**
 * A suite's `load:` section as the stages the load runner drives (docs/suites.md, "Load"):
 * `{concurrency, seconds}` is one closed-loop stage, `{rate, seconds}` one open-loop stage and
 * `{stages: […]}` an open-loop sweep. `sequential` has no stages: the driver's plan runs instead.
 */
import type { LoadInput } from '../suite-schema.js';

export type Arrivals = 'constant' | 'poisson';

/** Default bound on requests in flight in the open loop. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

export type StageSpec =
  | { index: number; mode: 'closed'; concurrency: number; seconds: number }
  | { index: number; mode: 'open'; rate: number; seconds: number; arrivals: Arrivals; maxInFlight: number; seed: number };

/** The stages of a load section (empty for `sequential`). */
export function stagesOf(load: LoadInput): StageSpec[] {
  if (load === 'sequential') return [];
  if (load.concurrency !== undefined) return [{ index: 0, mode: 'closed', concurrency: load.concurrency, seconds: load.seconds ?? 0 }];
  const arrivals = load.arrivals ?? 'constant';
  const maxInFlight = load.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT;
  const list = load.stages ?? [{ rate: load.rate ?? 0, seconds: load.seconds ?? 0 }];
  // Each stage its own seed, so inserting a stage does not change the schedules of the others.
  return list.map((s, index) => ({ index, mode: 'open', rate: s.rate, seconds: s.seconds, arrivals, maxInFlight, seed: (load.seed ?? 1) + index }));
}

/** The connections a client needs so that the load is not capped by its own pool. */
export function connectionsFor(load: LoadInput): number | undefined {
  if (load === 'sequential') return undefined;
  if (load.concurrency !== undefined) return load.concurrency;
  return load.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT;
}
