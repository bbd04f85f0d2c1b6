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
 *
 * The function is spawned through the launcher (./launcher.ts), which caps its address space at
 * --max-memory-mb (RLIMIT_AS, inherited by what it forks) and reports how it ended and its peak
 * memory: a failure with the memory at the cap is reported as the cap being reached.
 *
 * In `prewarmed` mode the next call's process is spawned ahead and blocks in its read of stdin; the
 * call hands it the input (ready = then). It is a fresh process used once (docs/runtimes.md, "Start modes").
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { sha256 } from '../../host/digest.js';
import { RuntimeError, atMemoryCap, cancelled, memoryCapReached, notDeployed } from '../../host/errors.js';
import { Limiter } from '../../host/limiter.js';
import { OutputBuffer } from '../../host/output-buffer.js';
import { PreparedSet, type PreparedInstance } from '../../host/prepared.js';
import { ProcessTrees } from '../../host/process-tree.js';
import type { ArtifactMeta, HostContext, Invocation, Limits, Loaded, RawRun, Runtime, RuntimeHealth, Staged, StoredFunction, Upload } from '../../host/runtime.js';
import { checkElfHeader, ELF_HEADER_BYTES, ELF_MACHINE, validateElf, validateElfFile } from './elf.js';
import { findCapMeans, launchCommand, parseReport, type CapMeans } from './launcher.js';

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

/** The name of signal number `n` (SIGSEGV for 11). */
function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === n);
}

/** The name of errno `n` (ENOEXEC for 8), else the number. */
function errnoName(n: number): string {
  return Object.entries(constants.errno).find(([, value]) => value === n)?.[0] ?? `errno ${n}`;
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

/** A spawned function waiting for its input (`#launch`). */
interface Launched extends PreparedInstance {
  /** Alive and not stopped: still waiting for `go`. */
  readonly waiting: boolean;
  /** Hands it the input and resolves with its run; `prepared`: it was spawned ahead of this call. */
  go(input: Buffer, signal: AbortSignal | undefined, prepared: boolean): Promise<RawRun>;
}

export class NativeRuntime implements Runtime<NativeMeta> {
  readonly name = 'native';
  readonly artifact = 'native';
  readonly slots: number;
  readonly #host: HostContext;
  readonly #limiter: Limiter;
  readonly #trees: ProcessTrees;
  /** Processes spawned ahead for `prewarmed` calls, one per function, each holding a process slot. */
  readonly #prepared: PreparedSet<Launched>;
  /** Stops each call in flight (kills its group and tree, cuts its pipes): close() calls them all. */
  readonly #stops = new Set<(why: 'shutting-down') => void>();
  #closed = false;
  /** After-exit scans still running (`backgroundWork`). */
  #hunting = 0;
  /** How calls get their memory cap here (found at start()). */
  #cap: CapMeans = { kind: 'none', reason: 'not started' };

  constructor(host: HostContext) {
    this.#host = host;
    this.slots = host.processSlots;
    // No queue of its own: admission (app.ts) queues calls before they get here.
    this.#limiter = new Limiter(host.processSlots, 0, 'native process');
    this.#trees = new ProcessTrees(host.cgroups);
    this.#prepared = new PreparedSet(this.#limiter);
  }

  /** Finds (or compiles) the launcher that applies the memory cap; without one, says what is missing. */
  async start(): Promise<void> {
    this.#cap = await findCapMeans();
    if (this.#cap.kind === 'none') {
      this.#host.warn(`native: calls run without a memory cap: ${this.#cap.reason}; install a C compiler (cc) or util-linux (prlimit)`);
    }
  }

  backgroundWork(): number {
    return this.#hunting + this.#prepared.busy;
  }

  /**
   * How escaped processes are found (`cgroup` or `scan`), whether a cgroup caps their memory, and what
   * applies the RLIMIT_AS cap (`launcher`, `prlimit`, or `none`).
   */
  containment(): { mode: 'cgroup' | 'scan'; memoryCap: boolean; rlimit: CapMeans['kind'] } {
    return { mode: this.#trees.mode, memoryCap: this.#trees.memoryCap, rlimit: this.#cap.kind };
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

  /** `accept` from the received file: only the ELF headers are read, the file is moved into place. */
  async acceptUpload(_name: string, upload: Upload): Promise<Staged<NativeMeta>> {
    this.#requireSupported();
    await validateElfFile(upload.path, upload.size, this.#host.arch);
    return { meta: { sha256: upload.sha256, arch: this.#host.arch }, files: [{ name: FILE, upload, mode: 0o755 }] };
  }

  async load(fn: StoredFunction, meta: NativeMeta): Promise<Loaded<NativeMeta>> {
    const hash = sha256(await readFile(join(fn.dir, FILE)));
    if (hash === meta.sha256) return { meta };
    return { meta: { ...meta, sha256: hash }, warning: 'the native binary was newer than its meta.json (interrupted deploy); using the file' };
  }

  /** The binary was replaced or deleted: a process prepared from it is discarded. */
  forget(name: string): void {
    this.#prepared.forget(name);
  }

  describe(meta: NativeMeta): Record<string, unknown> {
    return { sha256: meta.sha256, arch: meta.arch };
  }

  async invoke(call: Invocation): Promise<RawRun> {
    const { fn } = call;
    const meta = fn.meta.native as NativeMeta | undefined;
    if (!meta) {
      throw notDeployed(`function "${fn.name}" has no native artifact; deploy one with PUT /functions/${fn.name}/native`);
    }
    if (this.#closed) throw new RuntimeError('shutting-down', 'the server is shutting down');
    const prewarmed = call.mode === 'prewarmed';
    // A prepared process that died while it waited (killed from outside) is discarded, not used.
    const taken = prewarmed ? this.#prepared.take(fn.name, meta.sha256, (p) => p.waiting) : undefined;
    try {
      if (taken) {
        try {
          return await taken.instance.go(call.input, call.signal, true);
        } finally {
          taken.release();
        }
      }
      await this.#prepared.makeRoom();
      const release = await this.#limiter.acquire(call.signal);
      try {
        return await this.#launch(join(fn.dir, FILE), call.limits).go(call.input, call.signal, false);
      } finally {
        release();
      }
    } finally {
      // The next prewarmed call's process is spawned now, off this call's path.
      if (prewarmed) void this.prepare(fn);
    }
  }

  /** Spawns a process of `fn` that waits for its input on stdin (`prewarmed` mode), holding a process slot. */
  prepare(fn: StoredFunction): Promise<boolean> {
    const meta = fn.meta.native as NativeMeta | undefined;
    if (!meta || this.#closed || !this.health().available) return Promise.resolve(false);
    const path = join(fn.dir, FILE);
    return this.#prepared.prepare(
      fn.name,
      meta.sha256,
      () => Promise.resolve(this.#launch(path, this.#host.limits)),
      (error) => this.#host.warn(`native: preparing a process of ${fn.name} failed: ${String(error)}`),
    );
  }

  /**
   * Spawns the function (through the launcher) with its stdio piped and every handler in place; it
   * runs once `go` hands it its input. A cold call goes at once; a prepared process waits in its read
   * of stdin until a call arrives — its ready stamp is then the call's, not the spawn's.
   */
  #launch(path: string, limits: Limits): Launched {
    const { clock } = this.#host;
    const { timeoutMs, maxOutputBytes, maxMemoryMb } = limits;
    const stdout = new OutputBuffer(maxOutputBytes);
    const stderr = new OutputBuffer(maxOutputBytes);
    let stopped: 'timeout' | 'cancelled' | 'shutting-down' | undefined;
    let hostStartUs = 0;
    let endedUs = 0;
    let grace: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    let detachSignal = (): void => undefined;
    let closed = false;
    const tree = this.#trees.open(maxMemoryMb);
    const cap = this.#cap;
    const launched = launchCommand(cap, path, maxMemoryMb * 1024 * 1024);
    let readyUs = clock.nowUs();
    const child = spawn(launched.file, launched.args, {
      // fd 3: the launcher's report (./launcher.ts)
      stdio: cap.kind === 'launcher' ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      env: tree.env,
      cwd: '/',
      detached: true,
    });
    const pgid = child.pid;
    const reportPipe = child.stdio[3] as Readable | null | undefined;
    let reportText = '';
    let adoptedFunction = false;
    reportPipe?.setEncoding('utf8');
    reportPipe?.on('data', (chunk: string) => {
      reportText += chunk;
      // The forked function joins the call's cgroup too (the launcher itself was adopted below).
      const pid = /^pid (\d+)\n/.exec(reportText)?.[1];
      if (pid && !adoptedFunction) {
        adoptedFunction = true;
        tree.adopt(Number(pid));
      }
    });
    reportPipe?.on('error', () => undefined);
    const cutPipes = (): void => {
      child.stdout.destroy();
      child.stderr.destroy();
      child.stdin.destroy();
      reportPipe?.destroy();
    };
    /** Ends the call from outside: kill all it runs, and find what escaped. */
    const stop = (why: 'timeout' | 'cancelled' | 'shutting-down'): void => {
      stopped ??= why;
      killGroup(pgid);
      void tree.hunt();
      if (why === 'shutting-down') cutPipes();
    };
    this.#stops.add(stop);
    child.once('spawn', () => {
      hostStartUs = clock.nowUs();
    });
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // A function that exits without reading its input closes the pipe under us: not an error.
    child.stdin.on('error', () => undefined);
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
      closed = true;
      clearTimeout(timer);
      clearTimeout(grace);
      detachSignal();
      this.#stops.delete(stop);
      void tree.release();
    };
    const outcome = new Promise<RawRun>((resolve, reject) => {
      child.once('error', (error) => {
        settle();
        reject(new RuntimeError('failed', `cannot start the native executable: ${error.message}`, 'spawn-failed'));
      });
      child.once('close', (launcherCode, launcherSignal) => {
        settle();
        if (stopped === 'timeout') {
          reject(new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and was killed (--timeout-ms)`));
          return;
        }
        if (stopped === 'cancelled') return reject(cancelled('native'));
        if (stopped === 'shutting-down') return reject(new RuntimeError('shutting-down', 'the server is shutting down'));
        const report = parseReport(reportText);
        if (report.execErrno !== undefined) {
          reject(new RuntimeError('failed', `cannot start the native executable: ${errnoName(report.execErrno)}`, 'spawn-failed'));
          return;
        }
        // The function's own ending as the launcher saw it; the launcher's when it reported none.
        const code = report.exitCode ?? (report.signal === undefined ? launcherCode : null);
        const signal = report.signal !== undefined ? (signalName(report.signal) ?? null) : report.exitCode === undefined ? launcherSignal : null;
        const run: RawRun = {
          readyUs,
          // A prepared process was spawned before the call: its start here is the input reaching it.
          hostStartUs: Math.max(hostStartUs || readyUs, readyUs),
          endedUs: endedUs || clock.nowUs(),
          exitCode: signal ? signalExitCode(signal) : code,
          stdout: stdout.concat(),
          stderr: stderr.concat(),
        };
        if (signal) run.error = `terminated by ${signal}`;
        if ((signal || code !== 0) && report.peakBytes !== undefined && atMemoryCap(report.peakBytes, maxMemoryMb)) {
          run.error = memoryCapReached(maxMemoryMb, run.error ?? `exited with code ${code}`);
        }
        if (stdout.dropped + stderr.dropped > 0) run.truncated = true;
        resolve(run);
      });
    });
    // A prepared process discarded before any call is never awaited.
    outcome.catch(() => undefined);
    return {
      get waiting() {
        return !closed && stopped === undefined;
      },
      go(input, signal, prepared) {
        if (prepared) readyUs = clock.nowUs();
        const onAbort = (): void => stop('cancelled');
        signal?.addEventListener('abort', onAbort, { once: true });
        detachSignal = () => signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) stop('cancelled');
        timer = setTimeout(() => stop('timeout'), timeoutMs);
        child.stdin.end(input);
        return prepared ? outcome.then((run) => Object.assign(run, { prepared: true })) : outcome;
      },
      discard() {
        stop('shutting-down');
        return outcome.then(
          () => undefined,
          () => undefined,
        );
      },
    };
  }

  /**
   * Kills every call still running and cuts its pipes (their invocations then answer at once), then
   * every process any call of this runtime left anywhere: shutdown waits on no guest.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const prepared = this.#prepared.close();
    for (const stop of [...this.#stops]) stop('shutting-down');
    await prepared;
    await this.#trees.killAll();
  }
}
