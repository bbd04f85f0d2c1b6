/**
 * Messages between a WorkerPool (main thread) and its workers (src/server/host/worker-loop.ts). Generic
 * over the artifact a runtime posts (`A`: a compiled WebAssembly.Module for `wasm`); every runtime
 * answers the same `done` reply.
 */
import type { ClockAnchor } from '../../clock.js';

export type WorkerRequest<A = unknown> =
  | { type: 'anchor'; anchor: ClockAnchor }
  | { type: 'forget'; key: string }
  /** Prepare a fresh instance of `key` ahead of a `prewarmed` call, unless one is prepared; answered `prepared`. */
  | { type: 'prepare'; key: string; artifact?: A }
  /** Answered with `pong` at once: wakes a sleeping worker before a measured call (WorkerPool.wake). */
  | { type: 'ping' }
  | {
      type: 'run';
      id: number;
      key: string;
      /** Sent only when the worker does not hold this key yet (a Module's structured clone: ~0.06 ms). */
      artifact?: A;
      input: Uint8Array;
      maxOutputBytes: number;
      /**
       * Run in the instance prepared for `key` when there is one, then prepare the next (answered
       * `prepared` after the `done` reply).
       */
      prewarmed: boolean;
    };

/** What a guest's run produced, as the worker reports it. */
export interface GuestOutcome {
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  truncated: boolean;
  error?: string;
  /** The guest's memory when it ended (wasm: linear memory), to tell a failure at the memory cap. */
  memoryBytes?: number;
}

/** `prepared`: the run used an instance prepared ahead. */
export type WorkerDone = GuestOutcome & { type: 'done'; id: number; readyUs: number; endedUs: number; prepared?: boolean };

/**
 * A preparation ended: `ok` when the worker now holds a prepared instance of `key`; `dropped` names
 * the key whose prepared instance it discarded to stay within MAX_PREPARED_PER_WORKER.
 */
export interface WorkerPrepared {
  type: 'prepared';
  key: string;
  ok: boolean;
  error?: string;
  dropped?: string;
}

/** Prepared instances one worker holds at most (one per function); the oldest is dropped beyond. */
export const MAX_PREPARED_PER_WORKER = 8;

/**
 * `booted`: the worker's loop runs (sent once); a call's timeout starts only then, not at a replacement's boot.
 * `pong`: the answer to a `ping` (WorkerPool.wake).
 * `loaded`: the worker has prepared an artifact posted with this call (compiled glue imported, host
 * built); the call's timeout starts then, so preparing an artifact — deploy-time work, done once per
 * worker — never counts against the function.
 */
export type WorkerReply = { type: 'booted' } | { type: 'pong' } | { type: 'missing'; id: number } | { type: 'loaded'; id: number } | WorkerDone | WorkerPrepared;
