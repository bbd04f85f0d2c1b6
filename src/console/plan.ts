/**
 * The order of invocations, function by function: every (input, repetition) × runtime × start mode —
 * interleaved (wasm then docker for each input and repetition, as the thesis ran; cold then prewarmed
 * for each runtime) or blocked (one runtime's whole sweep of a function, then the next; within it one
 * mode's sweep, then the next). Warm-ups (per function × runtime × mode, discarded) come right before
 * what they warm: the function's interleaved sweep, or each blocked sweep.
 */
import type { Runtime, StartMode } from '../protocol/api.js';
import type { Suite } from './suite.js';

export interface PlannedInvocation {
  function: string;
  input: string;
  runtime: Runtime;
  /** How it starts (docs/suites.md, "Start modes"); absent: cold. */
  mode?: StartMode;
  /** Repetition number from 0; warm-ups count separately from 0. */
  rep: number;
  warmup: boolean;
}

/** Expands a suite into the exact sequence of invocations the driver makes. */
export function planInvocations(suite: Pick<Suite, 'functions' | 'repetitions' | 'warmup' | 'order'>): PlannedInvocation[] {
  const plan: PlannedInvocation[] = [];
  for (const fn of suite.functions) {
    const firstInput = fn.inputs[0] ?? '';
    const call = (input: string, runtime: Runtime, mode: StartMode, rep: number, warmup: boolean): PlannedInvocation => ({
      function: fn.name,
      input,
      runtime,
      ...(mode === 'cold' ? {} : { mode }),
      rep,
      warmup,
    });
    const warmUp = (runtimes: readonly Runtime[], modes: readonly StartMode[]): void => {
      for (let w = 0; w < suite.warmup; w++) {
        for (const runtime of runtimes) for (const mode of modes) plan.push(call(firstInput, runtime, mode, w, true));
      }
    };
    if (suite.order === 'interleaved') {
      warmUp(fn.runtimes, fn.modes);
      for (const input of fn.inputs) {
        for (let rep = 0; rep < suite.repetitions; rep++) {
          for (const runtime of fn.runtimes) for (const mode of fn.modes) plan.push(call(input, runtime, mode, rep, false));
        }
      }
    } else {
      for (const runtime of fn.runtimes) {
        for (const mode of fn.modes) {
          // Right before this sweep: warming it before another sweep would let that sweep cool it
          // down again (page cache, CPU frequency, the engine's own caches).
          warmUp([runtime], [mode]);
          for (const input of fn.inputs) {
            for (let rep = 0; rep < suite.repetitions; rep++) plan.push(call(input, runtime, mode, rep, false));
          }
        }
      }
    }
  }
  return plan;
}
