/**
 * Messages between the wasm pool (main thread) and its workers.
 *
 * One invocation: `prepare` (sent as soon as the request is routed, before its body is read) → the
 * worker instantiates → `input` (the body) → the worker runs `_start` → `done`. When the input is
 * already known at dispatch (a queued job, the thesis endpoint) it rides along in `prepare`. `abort`
 * drops a prepared instance whose body failed or is late; the worker sends no reply to it.
 */
import type { ClockAnchor } from '../clock.js';

export type WorkerRequest =
  | { type: 'anchor'; anchor: ClockAnchor }
  | { type: 'forget'; key: string }
  | {
      type: 'prepare';
      id: number;
      key: string;
      /** Sent only when the worker does not hold this key yet (structured clone ~0.06 ms). */
      module?: WebAssembly.Module;
      /** Present when the body was read before the job reached a worker. */
      input?: Uint8Array;
      maxOutputBytes: number;
    }
  | { type: 'input'; id: number; input: Uint8Array }
  | { type: 'abort'; id: number };

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
