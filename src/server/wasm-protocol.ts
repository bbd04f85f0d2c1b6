/** Messages between the wasm pool (main thread) and its workers. */
import type { ClockAnchor } from '../clock.js';

export type WorkerRequest =
  | { type: 'anchor'; anchor: ClockAnchor }
  | { type: 'forget'; key: string }
  | {
      type: 'run';
      id: number;
      key: string;
      /** Sent only when the worker does not hold this key yet (structured clone ~0.06 ms). */
      module?: WebAssembly.Module;
      input: Uint8Array;
      maxOutputBytes: number;
    };

export type WorkerReply =
  | { type: 'missing'; id: number }
  | {
      type: 'done';
      id: number;
      readyUs: number;
      endedUs: number;
      exitCode: number | null;
      stdout: Uint8Array;
      stderr: Uint8Array;
      truncated: boolean;
      error?: string;
    };
