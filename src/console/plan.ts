/**
 * The order of invocations, function by function: every (input, repetition) × runtime — interleaved
 * (wasm then docker for each input and repetition, as the thesis ran) or blocked (one runtime's whole
 * sweep of a function, then the next). Warm-ups (per function × runtime, discarded) come right before
 * what they warm: the function's interleaved sweep, or each runtime's blocked sweep.
 */
import type { Runtime } from '../protocol/api.js';
import type { Suite } from './suite.js';

export interface PlannedInvocation {
  function: string;
  input: string;
  runtime: Runtime;
  /** Repetition number from 0; warm-ups count separately from 0. */
  rep: number;
  warmup: boolean;
}

/** Expands a suite into the exact sequence of invocations the driver makes. */
export function planInvocations(suite: Pick<Suite, 'functions' | 'repetitions' | 'warmup' | 'order'>): PlannedInvocation[] {
  const plan: PlannedInvocation[] = [];
  for (const fn of suite.functions) {
    const firstInput = fn.inputs[0] ?? '';
    const warmUp = (runtimes: readonly Runtime[]): void => {
      for (let w = 0; w < suite.warmup; w++) {
        for (const runtime of runtimes) plan.push({ function: fn.name, input: firstInput, runtime, rep: w, warmup: true });
      }
    };
    if (suite.order === 'interleaved') {
      warmUp(fn.runtimes);
      for (const input of fn.inputs) {
        for (let rep = 0; rep < suite.repetitions; rep++) {
          for (const runtime of fn.runtimes) plan.push({ function: fn.name, input, runtime, rep, warmup: false });
        }
      }
    } else {
      for (const runtime of fn.runtimes) {
        // Right before this runtime's sweep: warming it before another runtime's sweep would let that
        // sweep cool it down again (page cache, CPU frequency, the engine's own caches).
        warmUp([runtime]);
        for (const input of fn.inputs) {
          for (let rep = 0; rep < suite.repetitions; rep++) plan.push({ function: fn.name, input, runtime, rep, warmup: false });
        }
      }
    }
  }
  return plan;
}
