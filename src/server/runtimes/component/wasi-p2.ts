/**
 * The WASI 0.2 host the `component` runtime hands to jco's glue, built once per worker and pointed at
 * the current call's buffers — the preview2 counterpart of src/server/runtimes/wasm/wasi.ts.
 *
 * Why not all of @bytecodealliance/preview2-shim: in Node its stdin/stdout/stderr are the process'
 * own streams (a `WASIShim({stdin, stdout})` is ignored there), its `exit` calls process.exit(), and
 * its filesystem exposes the host's directories. So cli, io, clocks and filesystem are ours: stdio
 * in memory per call, exit ends the instance, clocks read the server's anchored clock (the guest's
 * `nebula-start` stamp must match the host's stamps), and there are no preopened directories.
 * wasi:random comes from the shim. The glue looks imports up by unversioned name
 * (`wasi:cli/stdout`). docs/runtimes.md, "component".
 */
import { insecure, insecureSeed, random } from '@bytecodealliance/preview2-shim/random';
import { OutputBuffer } from '../../host/output-buffer.js';
import type { GuestClocks } from '../../host/worker-loop.js';

/** Thrown by wasi:cli/exit; carries the status out of `run`. WASI 0.2 knows only success/failure. */
export class ComponentExit {
  constructor(readonly code: number) {}
}

/** The per-invocation state the imports read and write. */
export interface ComponentCall {
  stdin: Uint8Array;
  stdinPos: number;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
}

/** A stream-error `closed`, as the glue expects a failed `result<_, stream-error>` to be thrown. */
const CLOSED = { tag: 'closed' } as const;
/** What `check-write` grants per call; the OutputBuffer enforces the real cap (and counts the rest). */
const WRITE_BUDGET = 1n << 20n;

/**
 * A pollable: ready at once (in-memory streams never wait) or at a monotonic deadline (a clock
 * subscription), when `block` really sleeps — a sleeping guest is stopped by the call's timeout.
 */
class Pollable {
  constructor(
    readonly deadlineNs: bigint | undefined,
    private readonly nowNs: () => bigint,
  ) {}
  ready(): boolean {
    return this.deadlineNs === undefined || this.nowNs() >= this.deadlineNs;
  }
  block(): void {
    if (this.deadlineNs === undefined) return;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let left = this.deadlineNs - this.nowNs(); left > 0n; left = this.deadlineNs - this.nowNs()) {
      Atomics.wait(sleeper, 0, 0, Math.max(1, Number(left / 1_000_000n)));
    }
  }
}

/** Interfaces (unversioned) the host provides; a component importing anything else is refused at deploy. */
export const PROVIDED_INTERFACES: ReadonlySet<string> = new Set([
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:filesystem/preopens',
  'wasi:filesystem/types',
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
]);

export interface WasiP2Host {
  imports: Record<string, Record<string, unknown>>;
  /** Points the imports at a call's buffers. */
  bind(call: ComponentCall): void;
}

export function createWasiP2Host(clocks: GuestClocks): WasiP2Host {
  let call: ComponentCall = { stdin: new Uint8Array(0), stdinPos: 0, stdout: new OutputBuffer(0), stderr: new OutputBuffer(0) };
  const now = clocks.monotonicNs;

  class IoError {
    constructor(private readonly message: string) {}
    toDebugString(): string {
      return this.message;
    }
  }

  class InputStream {
    read(len: bigint): Uint8Array {
      if (call.stdinPos >= call.stdin.length) throw CLOSED;
      const chunk = call.stdin.subarray(call.stdinPos, call.stdinPos + Number(len));
      call.stdinPos += chunk.length;
      return chunk;
    }
    blockingRead(len: bigint): Uint8Array {
      return this.read(len);
    }
    skip(len: bigint): bigint {
      return BigInt(this.read(len).length);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      return new Pollable(undefined, now);
    }
  }

  class OutputStream {
    constructor(private readonly stream: 'stdout' | 'stderr') {}
    checkWrite(): bigint {
      return WRITE_BUDGET;
    }
    write(contents: Uint8Array): void {
      call[this.stream].push(contents);
    }
    blockingWriteAndFlush(contents: Uint8Array): void {
      call[this.stream].push(contents);
    }
    writeZeroes(len: bigint): void {
      call[this.stream].push(new Uint8Array(Number(len)));
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }
    flush(): void {}
    blockingFlush(): void {}
    subscribe(): Pollable {
      return new Pollable(undefined, now);
    }
  }

  // One stream object of each kind per worker: the glue checks `instanceof`, and the streams read
  // whichever call is bound.
  const stdin = new InputStream();
  const stdout = new OutputStream('stdout');
  const stderr = new OutputStream('stderr');
  class TerminalInput {}
  class TerminalOutput {}
  class Descriptor {}
  class DirectoryEntryStream {}
  const exit = (status: { tag: 'ok' | 'err' }): never => {
    throw new ComponentExit(status.tag === 'ok' ? 0 : 1);
  };

  const imports: Record<string, Record<string, unknown>> = {
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': { exit },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/monotonic-clock': {
      now,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => new Pollable(when, now),
      subscribeDuration: (ns: bigint) => new Pollable(now() + ns, now),
    },
    'wasi:clocks/wall-clock': {
      now: () => {
        const ns = clocks.realtimeNs();
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': {
      Pollable,
      poll: (list: Pollable[]): Uint32Array => {
        for (;;) {
          const ready = list.flatMap((p, i) => (p.ready() ? [i] : []));
          if (ready.length > 0 || list.length === 0) return Uint32Array.from(ready);
          // None ready: every one is a clock deadline; sleep until the earliest.
          list.reduce((a, b) => (b.deadlineNs! < a.deadlineNs! ? b : a)).block();
        }
      },
    },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': random as unknown as Record<string, unknown>,
    'wasi:random/insecure': insecure as unknown as Record<string, unknown>,
    'wasi:random/insecure-seed': insecureSeed as unknown as Record<string, unknown>,
  };
  return {
    imports,
    bind(next) {
      call = next;
    },
  };
}
