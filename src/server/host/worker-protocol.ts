/**
 * Messages between a WorkerPool (main thread) and its workers (src/server/host/worker-loop.ts). Generic
 * over the artifact a runtime posts (`A`: a compiled WebAssembly.Module for `wasm`); every runtime
 * answers the same `done` reply.
 */
import type { ClockAnchor } from '../../clock.js';

export type WorkerRequest<A = unknown> =
  | { type: 'anchor'; anchor: ClockAnchor }
  | { type: 'forget'; key: string }
  | {
      type: 'run';
      id: number;
      key: string;
      /** Sent only when the worker does not hold this key yet (a Module's structured clone: ~0.06 ms). */
      artifact?: A;
      input: Uint8Array;
      maxOutputBytes: number;
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

export type WorkerDone = GuestOutcome & { type: 'done'; id: number; readyUs: number; endedUs: number };

/** `booted`: the worker's loop runs (sent once); a call's timeout starts only then, not at a replacement's boot. */
/**
 * `loaded`: the worker has prepared an artifact posted with this call (compiled glue imported, host
 * built); the call's timeout starts then, so preparing an artifact — deploy-time work, done once per
 * worker — never counts against the function.
 */
export type WorkerReply = { type: 'booted' } | { type: 'missing'; id: number } | { type: 'loaded'; id: number } | WorkerDone;
