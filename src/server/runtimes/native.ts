/**
 * The `native` runtime: the uploaded static executable, spawned per call with the input on stdin.
 * ready = just before spawn; host start estimate = the 'spawn' event; ended = the 'exit' event.
 *
 * Each call runs in its own process group (`detached`), and the whole group is SIGKILLed when the
 * function exits, at the timeout and on close(): a child it forked would otherwise keep the stdout
 * pipe open, so 'close' (and the reply, and the limiter slot) would wait for it forever.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Clock } from '../clock-source.js';
import { HttpError, notFound } from '../http-error.js';
import type { Limiter } from '../limiter.js';
import type { StoredFunction } from '../store.js';
import { OutputBuffer } from '../wasi.js';
import type { FunctionRuntime, RawRun } from './types.js';

export interface NativeOptions {
  clock: Clock;
  timeoutMs: number;
  maxOutputBytes: number;
  limiter: Limiter;
}

/** Exit status in the shell's (and Docker's) convention: 128 + signal number for a killed process. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** SIGKILLs process group `pgid`. Never throws: it runs in event handlers, and a group already gone (ESRCH) is the usual case. */
function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

export class NativeRuntime implements FunctionRuntime {
  /** Process groups of the calls in flight, killed on close() so none outlives the server. */
  readonly #groups = new Set<number>();

  constructor(readonly options: NativeOptions) {}

  async invoke(fn: StoredFunction, input: Buffer): Promise<RawRun> {
    if (!fn.meta.native) {
      throw notFound(`function "${fn.name}" has no native artifact; deploy one with PUT /functions/${fn.name}/native`);
    }
    const release = await this.options.limiter.acquire();
    try {
      return await this.#run(fn.nativePath, input);
    } finally {
      release();
    }
  }

  #run(path: string, input: Buffer): Promise<RawRun> {
    const { clock, timeoutMs, maxOutputBytes } = this.options;
    return new Promise<RawRun>((resolve, reject) => {
      const stdout = new OutputBuffer(maxOutputBytes);
      const stderr = new OutputBuffer(maxOutputBytes);
      let timedOut = false;
      let hostStartUs = 0;
      let endedUs = 0;
      const readyUs = clock.nowUs();
      const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: {}, cwd: '/', detached: true });
      const pgid = child.pid;
      if (pgid !== undefined) this.#groups.add(pgid);
      child.once('spawn', () => {
        hostStartUs = clock.nowUs();
      });
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(pgid);
      }, timeoutMs);
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      // A function that exits without reading its input closes the pipe under us: not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
      child.once('exit', () => {
        endedUs = clock.nowUs();
        // Whatever the function left running is part of it: end it so its stdio closes.
        killGroup(pgid);
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        if (pgid !== undefined) this.#groups.delete(pgid);
        reject(new HttpError(500, 'spawn-failed', `cannot start the native executable: ${error.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (pgid !== undefined) this.#groups.delete(pgid);
        if (timedOut) {
          reject(new HttpError(504, 'timeout', `the function ran longer than ${timeoutMs} ms and was killed (--timeout-ms)`));
          return;
        }
        const run: RawRun = {
          readyUs,
          hostStartUs: hostStartUs || readyUs,
          endedUs: endedUs || clock.nowUs(),
          exitCode: signal ? signalExitCode(signal) : code,
          stdout: stdout.concat(),
          stderr: stderr.concat(),
        };
        if (signal) run.error = `terminated by ${signal}`;
        if (stdout.dropped + stderr.dropped > 0) run.truncated = true;
        resolve(run);
      });
    });
  }

  /** Kills every call still running (their invocations then answer and release their slots). */
  async close(): Promise<void> {
    for (const pgid of this.#groups) killGroup(pgid);
  }
}
