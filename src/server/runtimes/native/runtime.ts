/**
 * The `native` runtime: the uploaded static executable, spawned per call with the input on stdin.
 * ready = just before spawn; host start estimate = the 'spawn' event; ended = the 'exit' event.
 *
 * Each call runs in its own process group (`detached`), and the whole group is SIGKILLed when the
 * function exits, at the timeout and on close(): a child it forked would otherwise keep the stdout
 * pipe open, so 'close' (and the reply, and the limiter slot) would wait for it forever.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../host/digest.js';
import { RuntimeError, notDeployed } from '../../host/errors.js';
import { Limiter } from '../../host/limiter.js';
import { OutputBuffer } from '../../host/output-buffer.js';
import type { ArtifactMeta, HostContext, Invocation, Limits, Loaded, RawRun, Runtime, RuntimeHealth, Staged, StoredFunction } from '../../host/runtime.js';
import { checkElfHeader, ELF_HEADER_BYTES, ELF_MACHINE, validateElf } from './elf.js';

export interface NativeMeta extends ArtifactMeta {
  arch: string;
}

const FILE = 'native';

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

export class NativeRuntime implements Runtime<NativeMeta> {
  readonly name = 'native';
  readonly artifact = 'native';
  readonly slots: number;
  readonly #host: HostContext;
  readonly #limiter: Limiter;
  /** Process groups of the calls in flight, killed on close() so none outlives the server. */
  readonly #groups = new Set<number>();

  constructor(host: HostContext) {
    this.#host = host;
    this.slots = host.processSlots;
    // No queue of its own: admission (app.ts) queues calls before they get here.
    this.#limiter = new Limiter(host.processSlots, 0, 'native process');
  }

  health(): RuntimeHealth {
    if (this.#host.arch in ELF_MACHINE) return { available: true };
    return { available: false, reason: `native executables are not supported on ${this.#host.arch}` };
  }

  #requireSupported(): void {
    const health = this.health();
    if (!health.available) throw new RuntimeError('unavailable', health.reason ?? 'native is unavailable');
  }

  uploadHead(): { bytes: number; check: (head: Buffer) => void } | undefined {
    if (!this.health().available) return undefined;
    return { bytes: ELF_HEADER_BYTES, check: (head) => checkElfHeader(head, this.#host.arch) };
  }

  async accept(_name: string, bytes: Buffer): Promise<Staged<NativeMeta>> {
    this.#requireSupported();
    validateElf(bytes, this.#host.arch);
    return { meta: { sha256: sha256(bytes), arch: this.#host.arch }, files: [{ name: FILE, bytes, mode: 0o755 }] };
  }

  async load(fn: StoredFunction, meta: NativeMeta): Promise<Loaded<NativeMeta>> {
    const hash = sha256(await readFile(join(fn.dir, FILE)));
    if (hash === meta.sha256) return { meta };
    return { meta: { ...meta, sha256: hash }, warning: 'the native binary was newer than its meta.json (interrupted deploy); using the file' };
  }

  forget(): void {
    // Nothing held beyond the file, which the store removes.
  }

  describe(meta: NativeMeta): Record<string, unknown> {
    return { sha256: meta.sha256, arch: meta.arch };
  }

  async invoke(call: Invocation): Promise<RawRun> {
    const { fn } = call;
    if (!fn.meta.native) {
      throw notDeployed(`function "${fn.name}" has no native artifact; deploy one with PUT /functions/${fn.name}/native`);
    }
    const release = await this.#limiter.acquire();
    try {
      return await this.#run(join(fn.dir, FILE), call.input, call.limits);
    } finally {
      release();
    }
  }

  #run(path: string, input: Buffer, limits: Limits): Promise<RawRun> {
    const { clock } = this.#host;
    const { timeoutMs, maxOutputBytes } = limits;
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
        reject(new RuntimeError('failed', `cannot start the native executable: ${error.message}`, 'spawn-failed'));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (pgid !== undefined) this.#groups.delete(pgid);
        if (timedOut) {
          reject(new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and was killed (--timeout-ms)`));
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
