/** What every runtime (wasm, native, docker) hands back for one invocation, before stamping. */
import type { StoredFunction } from '../store.js';

export interface RawRun {
  /** The runtime is ready to start the function (see docs/api.md for each runtime's moment). */
  readyUs: number;
  /** Host-side estimate of when the function's code began, used when it printed no nebula-start line. */
  hostStartUs: number;
  /** The function finished (returned / exited), as the host observed it. */
  endedUs: number;
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Why the run failed (trap, signal), when it did. */
  error?: string;
  /** Output beyond the cap was dropped (OutputBuffer.dropped > 0 on either stream). */
  truncated?: boolean;
}

export interface FunctionRuntime {
  /** Runs `fn` once with `input` on stdin. Throws HttpError for 404/503/504 cases. */
  invoke(fn: StoredFunction, input: Buffer): Promise<RawRun>;
  close(): Promise<void>;
}
