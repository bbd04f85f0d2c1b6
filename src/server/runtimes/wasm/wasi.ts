/**
 * A minimal WASI preview1 host for command modules with stdin/stdout/stderr as in-memory buffers.
 *
 * Hand-written on purpose: node:wasi needs real file descriptors and cost ~1.4 ms per call here, while
 * this import object, built once per module and pointed at the current call's buffers, brings an
 * instantiate + `_start` of a small C module to ~0.1 ms (bench/server-bench.ts measures it). Only what
 * wasi-libc's command start-up and stdio need is implemented; everything else answers ENOSYS.
 * `proc_exit` throws a private WasiExit so it ends the instance, never the process.
 */
import { getRandomValues } from 'node:crypto';
import { OutputBuffer } from '../../host/output-buffer.js';
import { WASI_MODULE } from './module.js';

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;
const FILETYPE_CHARACTER_DEVICE = 2;
const CLOCK_REALTIME = 0;

/** Thrown by proc_exit; carries the exit code out of `_start`. */
export class WasiExit {
  constructor(readonly code: number) {}
}

/** The per-invocation state the import object reads and writes. */
export interface WasiCall {
  stdin: Uint8Array;
  stdinPos: number;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
  memory: WebAssembly.Memory | undefined;
}

export interface WasiHost {
  imports: WebAssembly.Imports;
  /** Points the imports at a call's buffers; set `call.memory` after instantiation. */
  bind(call: WasiCall): void;
}

/**
 * Builds the import object for one module's import list. `realtimeNs` and `monotonicNs` serve the
 * guest's clocks (the server's anchored realtime clock, so guests' stamps match the host's).
 */
export function createWasiHost(
  module: WebAssembly.Module,
  clocks: { realtimeNs: () => bigint; monotonicNs: () => bigint },
): WasiHost {
  let call: WasiCall = {
    stdin: new Uint8Array(0),
    stdinPos: 0,
    stdout: new OutputBuffer(0),
    stderr: new OutputBuffer(0),
    memory: undefined,
  };
  const view = (): DataView => new DataView(call.memory!.buffer);
  const bytes = (): Uint8Array => new Uint8Array(call.memory!.buffer);
  /** `*_sizes_get` for an empty list: zero entries, zero bytes. */
  const emptyListSizes = (countPtr: number, bufSizePtr: number): number => {
    const dv = view();
    dv.setUint32(countPtr, 0, true);
    dv.setUint32(bufSizePtr, 0, true);
    return ESUCCESS;
  };

  const fns: Record<string, (...args: never[]) => number | void> = {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      const out = fd === 1 ? call.stdout : fd === 2 ? call.stderr : undefined;
      if (!out) return EBADF;
      const dv = view();
      const mem = bytes();
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        if (len > 0) out.push(mem.subarray(ptr, ptr + len));
        written += len;
      }
      dv.setUint32(nwrittenPtr, written, true);
      return ESUCCESS;
    },
    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
      if (fd !== 0) return EBADF;
      const dv = view();
      const mem = bytes();
      let read = 0;
      for (let i = 0; i < iovsLen && call.stdinPos < call.stdin.length; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        const chunk = call.stdin.subarray(call.stdinPos, call.stdinPos + len);
        mem.set(chunk, ptr);
        call.stdinPos += chunk.length;
        read += chunk.length;
      }
      dv.setUint32(nreadPtr, read, true);
      return ESUCCESS;
    },
    fd_fdstat_get(fd: number, ptr: number): number {
      if (fd > 2) return EBADF;
      const dv = view();
      // A character device with seek/tell rights is "not a tty" for wasi-libc, so stdout is fully
      // buffered, as it is for a native process writing to a pipe.
      dv.setUint8(ptr, FILETYPE_CHARACTER_DEVICE);
      dv.setUint16(ptr + 2, 0, true);
      dv.setBigUint64(ptr + 8, 0xffff_ffffn, true);
      dv.setBigUint64(ptr + 16, 0n, true);
      return ESUCCESS;
    },
    fd_seek(fd: number): number {
      return fd <= 2 ? ESPIPE : EBADF;
    },
    fd_close(fd: number): number {
      return fd <= 2 ? ESUCCESS : EBADF;
    },
    fd_prestat_get(): number {
      return EBADF; // no preopened directories: ends wasi-libc's preopen scan
    },
    // No arguments and no environment: both lists are empty.
    args_sizes_get: emptyListSizes,
    args_get(): number {
      return ESUCCESS;
    },
    environ_sizes_get: emptyListSizes,
    environ_get(): number {
      return ESUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, ptr: number): number {
      if (id > 3) return EINVAL;
      view().setBigUint64(ptr, id === CLOCK_REALTIME ? clocks.realtimeNs() : clocks.monotonicNs(), true);
      return ESUCCESS;
    },
    clock_res_get(id: number, ptr: number): number {
      if (id > 3) return EINVAL;
      view().setBigUint64(ptr, 1000n, true);
      return ESUCCESS;
    },
    random_get(ptr: number, len: number): number {
      const mem = bytes();
      for (let at = 0; at < len; at += 65536) getRandomValues(mem.subarray(ptr + at, ptr + Math.min(len, at + 65536)));
      return ESUCCESS;
    },
    sched_yield(): number {
      return ESUCCESS;
    },
    proc_exit(code: number): void {
      throw new WasiExit(code);
    },
  };

  const wasi: Record<string, (...args: never[]) => number | void> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== WASI_MODULE || imp.kind !== 'function') continue;
    wasi[imp.name] = fns[imp.name] ?? ((): number => ENOSYS);
  }
  return {
    imports: { [WASI_MODULE]: wasi },
    bind(next: WasiCall): void {
      call = next;
    },
  };
}

/** The error text of a guest's failure (a trap, an out-of-range allocation, anything else thrown). */
function describeFailure(error: unknown): string {
  if (error instanceof WebAssembly.RuntimeError) return `RuntimeError: ${error.message}`;
  if (error instanceof RangeError) return `RangeError: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs `_start` of a fresh instance with `call`'s buffers; returns the exit code or the trap.
 * `prepared`: an instance made ahead from the same module and host (`prewarmed` mode), never started.
 */
export function runInstance(
  module: WebAssembly.Module,
  host: WasiHost,
  call: WasiCall,
  onReady?: () => void,
  prepared?: WebAssembly.Instance,
): { exitCode: number | null; error?: string } {
  host.bind(call);
  try {
    const instance = prepared ?? new WebAssembly.Instance(module, host.imports);
    call.memory = instance.exports.memory as WebAssembly.Memory;
    const start = instance.exports._start as () => void;
    onReady?.();
    start();
    return { exitCode: 0 };
  } catch (error) {
    if (error instanceof WasiExit) return { exitCode: error.code };
    return { exitCode: null, error: describeFailure(error) };
  }
}
