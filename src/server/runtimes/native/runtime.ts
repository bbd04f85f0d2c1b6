/**
 * The `native` runtime: the uploaded static executable, spawned per call with the input on stdin.
 * ready = just before spawn; host start estimate = the 'spawn' event; ended = the 'exit' event.
 *
 * Each call runs in its own process group (`detached`) and its own ProcessTree (a cgroup where the
 * server may create one, and an environment marker: src/server/host/process-tree.ts). When the
 * function exits, at the timeout, when the client goes away and on close(), the group and the tree are
 * killed: a child it forked — even one that left the group with setsid() — would otherwise keep the
 * stdout pipe open, so 'close' (and the reply, and the limiter slot) would wait for it. If the pipes
 * are still held a moment after the function exited, the tree is hunted (/proc scan) and the pipes
 * are cut, so the reply never waits on an escaped process.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../host/digest.js';
import { RuntimeError, cancelled, notDeployed } from '../../host/errors.js';
import { Limiter } from '../../host/limiter.js';
import { OutputBuffer } from '../../host/output-buffer.js';
import { ProcessTrees } from '../../host/process-tree.js';
import type { ArtifactMeta, HostContext, Invocation, Limits, Loaded, RawRun, Runtime, RuntimeHealth, Staged, StoredFunction } from '../../host/runtime.js';
import { checkElfHeader, ELF_HEADER_BYTES, ELF_MACHINE, validateElf } from './elf.js';

export interface NativeMeta extends ArtifactMeta {
  arch: string;
}

const FILE = 'native';
/** After the function exited, how long its output pipes may stay open before the tree is hunted and they are cut. */
const PIPE_GRACE_MS = 200;

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
  readonly #trees: ProcessTrees;
  /** Stops each call in flight (kills its group and tree, cuts its pipes): close() calls them all. */
  readonly #stops = new Set<(why: 'shutting-down') => void>();
  #closed = false;
  /** After-exit scans still running (`backgroundWork`). */
  #hunting = 0;

  constructor(host: HostContext) {
    this.#host = host;
    this.slots = host.processSlots;
    // No queue of its own: admission (app.ts) queues calls before they get here.
    this.#limiter = new Limiter(host.processSlots, 0, 'native process');
    this.#trees = new ProcessTrees(host.cgroups);
  }

  backgroundWork(): number {
    return this.#hunting;
  }

  /** How escaped processes are found (`cgroup` or `scan`) and whether a cgroup caps their memory. */
  containment(): { mode: 'cgroup' | 'scan'; memoryCap: boolean } {
    return { mode: this.#trees.mode, memoryCap: this.#trees.memoryCap };
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
    if (this.#closed) throw new RuntimeError('shutting-down', 'the server is shutting down');
    const release = await this.#limiter.acquire(call.signal);
    try {
      return await this.#run(join(fn.dir, FILE), call.input, call.limits, call.signal);
    } finally {
      release();
    }
  }

  #run(path: string, input: Buffer, limits: Limits, signal: AbortSignal | undefined): Promise<RawRun> {
    const { clock } = this.#host;
    const { timeoutMs, maxOutputBytes, maxMemoryMb } = limits;
    return new Promise<RawRun>((resolve, reject) => {
      const stdout = new OutputBuffer(maxOutputBytes);
      const stderr = new OutputBuffer(maxOutputBytes);
      let stopped: 'timeout' | 'cancelled' | 'shutting-down' | undefined;
      let hostStartUs = 0;
      let endedUs = 0;
      let grace: NodeJS.Timeout | undefined;
      const tree = this.#trees.open(maxMemoryMb);
      const readyUs = clock.nowUs();
      const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: tree.env, cwd: '/', detached: true });
      const pgid = child.pid;
      const cutPipes = (): void => {
        child.stdout.destroy();
        child.stderr.destroy();
        child.stdin.destroy();
      };
      /** Ends the call from outside: kill all it runs, and find what escaped. */
      const stop = (why: 'timeout' | 'cancelled' | 'shutting-down'): void => {
        stopped ??= why;
        killGroup(pgid);
        void tree.hunt();
        if (why === 'shutting-down') cutPipes();
      };
      const onAbort = (): void => stop('cancelled');
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#stops.add(stop);
      child.once('spawn', () => {
        hostStartUs = clock.nowUs();
      });
      const timer = setTimeout(() => stop('timeout'), timeoutMs);
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      // A function that exits without reading its input closes the pipe under us: not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
      if (pgid !== undefined) tree.adopt(pgid);
      child.once('exit', () => {
        endedUs = clock.nowUs();
        // Whatever the function left running is part of it: end it so its stdio closes.
        killGroup(pgid);
        tree.kill();
        // What left the group is found by the marker (every call: the scan reads only the pids
        // handed out since this call's), off the reply's path; the server is settled once it is done.
        this.#hunting++;
        void tree.hunt().finally(() => this.#hunting--);
        // Still open a moment later: a process outside the group and cgroup holds them (setsid + a
        // fork before the move into the cgroup, or no cgroup here). Hunt it, and stop waiting.
        grace = setTimeout(() => {
          void tree.hunt().finally(cutPipes);
        }, PIPE_GRACE_MS);
      });
      const settle = (): void => {
        clearTimeout(timer);
        clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
        this.#stops.delete(stop);
        void tree.release();
      };
      child.once('error', (error) => {
        settle();
        reject(new RuntimeError('failed', `cannot start the native executable: ${error.message}`, 'spawn-failed'));
      });
      child.once('close', (code, signal) => {
        settle();
        if (stopped === 'timeout') {
          reject(new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and was killed (--timeout-ms)`));
          return;
        }
        if (stopped === 'cancelled') return reject(cancelled('native'));
        if (stopped === 'shutting-down') return reject(new RuntimeError('shutting-down', 'the server is shutting down'));
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

  /**
   * Kills every call still running and cuts its pipes (their invocations then answer at once), then
   * every process any call of this runtime left anywhere: shutdown waits on no guest.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stop of [...this.#stops]) stop('shutting-down');
    await this.#trees.killAll();
  }
}
