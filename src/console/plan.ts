/**
 * The order of invocations: warm-ups first (per function × runtime, discarded), then every
 * (function, input, repetition) × runtime — interleaved (wasm then docker for each input and
 * repetition, as the thesis ran) or blocked (one runtime's whole sweep of a function, then the next).
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
    for (let w = 0; w < suite.warmup; w++) {
      for (const runtime of fn.runtimes) plan.push({ function: fn.name, input: firstInput, runtime, rep: w, warmup: true });
    }
    if (suite.order === 'interleaved') {
      for (const input of fn.inputs) {
        for (let rep = 0; rep < suite.repetitions; rep++) {
          for (const runtime of fn.runtimes) plan.push({ function: fn.name, input, runtime, rep, warmup: false });
        }
      }
    } else {
      for (const runtime of fn.runtimes) {
        for (const input of fn.inputs) {
          for (let rep = 0; rep < suite.repetitions; rep++) plan.push({ function: fn.name, input, runtime, rep, warmup: false });
        }
      }
    }
  }
  return plan;
}
