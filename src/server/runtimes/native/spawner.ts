/**
 * The server's side of the spawner process (./spawner-process.ts), which starts every native call.
 *
 * Why a process of its own: Node starts a child with fork(), and a fork of the server — its V8 heaps,
 * its wasm workers — write-protects every page it has; the server then takes a page fault for each page
 * it writes next. Measured against one server (docs/methodology.md, "Predecessors"): a wasm call right
 * after a native call started 2× later than one after a wasm call, and a bare spawn of /bin/true in the
 * server did the same, while the same spawn from another process did not. The spawner is small, so its
 * own fork is cheap, and the server never forks per call.
 *
 * A spawner that dies (killed from outside) fails the calls it had with a clear error, their
 * processes are killed by their marker, and the next call starts a new one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClockAnchor } from '../../../clock.js';
import { RuntimeError } from '../../host/errors.js';
import { killTrees } from '../../host/process-tree.js';
import type { Limits, RawRun } from '../../host/runtime.js';
import type { StopReason } from './launch.js';
import type { CapMeans } from './launcher.js';
import type { FromSpawner, ToSpawner } from './spawner-protocol.js';

/** A spawned function waiting for its input. */
export interface Launched {
  /** Alive and not stopped: still waiting for `go`. */
  readonly waiting: boolean;
  /** Hands it the input and resolves with its run (marked `prepared`); `signal` stops it. */
  go(input: Buffer, signal: AbortSignal | undefined): Promise<RawRun>;
  /** Stops and removes it; resolves once it is gone. Never throws. */
  discard(): Promise<void>;
}

interface Pending {
  resolve(run: RawRun): void;
  reject(error: Error): void;
}

export interface SpawnerOptions {
  cgroups: boolean;
  cap: CapMeans;
  anchor: ClockAnchor;
}

/** The spawner's module beside this one, with this module's extension (.ts under tsx, .js built). */
const SCRIPT = fileURLToPath(new URL(`./spawner-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const shuttingDown = (): RuntimeError => new RuntimeError('shutting-down', 'the server is shutting down');

export class Spawner {
  readonly #options: SpawnerOptions;
  #child: ChildProcess | undefined;
  #starting: Promise<ChildProcess> | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #background = 0;
  #closed = false;
  #containment: { mode: 'cgroup' | 'scan'; memoryCap: boolean } = { mode: 'scan', memoryCap: false };
  /** Calls still open in the spawner: a spawner that died leaves their processes to be killed by marker. */
  #treePrefix = '';
  /** Kills of what a dead spawner left, still running. */
  #reaping = 0;

  constructor(options: SpawnerOptions) {
    this.#options = options;
  }

  /** Starts the spawner process (a call starts it again if it died). */
  async start(): Promise<void> {
    await this.#ensure();
  }

  /** How escaped processes are found (`cgroup` or `scan`) and whether a cgroup caps their memory. */
  get containment(): { mode: 'cgroup' | 'scan'; memoryCap: boolean } {
    return this.#containment;
  }

  /** Clean-up after calls still running in the spawner (after-exit hunts, kills after its death). */
  get backgroundWork(): number {
    return this.#background + this.#reaping;
  }

  setAnchor(anchor: ClockAnchor): void {
    this.#options.anchor = anchor;
    this.#send({ type: 'anchor', anchor });
  }

  #ensure(): Promise<ChildProcess> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (this.#child) return Promise.resolve(this.#child);
    this.#starting ??= this.#spawn().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  #spawn(): Promise<ChildProcess> {
    const child = fork(SCRIPT, [], {
      // Only tsx's loader (from source); the server's other flags (e.g. --test) are not the spawner's.
      execArgv: SCRIPT.endsWith('.ts') ? ['--import', 'tsx'] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onReady = (message: FromSpawner): void => {
        if (message.type !== 'ready') return;
        child.off('message', onReady);
        child.off('exit', onEarlyExit);
        this.#containment = message.containment;
        this.#treePrefix = message.treePrefix;
        this.#child = child;
        child.on('message', (m: FromSpawner) => this.#receive(m));
        child.once('exit', (code, signal) => this.#died(child, code, signal));
        // Neither the process nor its channel keeps the server alive; calls in flight hold its sockets.
        child.unref();
        child.channel?.unref();
        resolve(child);
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        reject(new RuntimeError('failed', `the native spawner process did not start (${signal ?? `exit code ${code}`})`, 'spawn-failed'));
      };
      child.on('message', onReady);
      child.once('exit', onEarlyExit);
      child.send({ type: 'init', anchor: this.#options.anchor, cgroups: this.#options.cgroups, cap: this.#options.cap } satisfies ToSpawner);
    });
  }

  #receive(message: FromSpawner): void {
    if (message.type === 'background') {
      this.#background = message.n;
    } else if (message.type === 'done') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.run) pending.resolve(message.run);
      else pending.reject(new RuntimeError(message.error!.kind, message.error!.message, message.error!.code));
    }
  }

  /** The spawner ended: its calls fail, what they ran is killed by its marker. */
  #died(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#background = 0;
    const why = this.#closed
      ? shuttingDown()
      : new RuntimeError('failed', `the native spawner process ended (${signal ?? `exit code ${code}`}) during the call; the next call starts a new one`);
    for (const pending of this.#pending.values()) pending.reject(why);
    this.#pending.clear();
    this.#reaping++;
    void killTrees(this.#treePrefix).finally(() => this.#reaping--);
  }

  #send(message: ToSpawner): void {
    if (this.#child?.connected) this.#child.send(message);
  }

  /** Runs `path` with `input` at once (a cold call); `signal` stops it. */
  async run(path: string, limits: Limits, input: Buffer, signal: AbortSignal | undefined): Promise<RawRun> {
    await this.#ensure();
    const call = this.#open();
    this.#send({ type: 'launch', id: call.id, path, limits, input });
    call.watch(signal);
    return call.outcome;
  }

  /** Spawns `path` to wait for its input (a prepared process). */
  async prepare(path: string, limits: Limits): Promise<Launched> {
    await this.#ensure();
    const call = this.#open();
    this.#send({ type: 'launch', id: call.id, path, limits });
    let done = false;
    void call.outcome.then(
      () => (done = true),
      () => (done = true),
    );
    return {
      get waiting() {
        return !done && !call.stopped;
      },
      go: (input, signal) => {
        call.watch(signal);
        if (!call.stopped) this.#send({ type: 'go', id: call.id, input });
        return call.outcome;
      },
      discard: () => {
        call.stop('shutting-down');
        return call.outcome.then(
          () => undefined,
          () => undefined,
        );
      },
    };
  }

  /** A new call: its id, its outcome (answered by `done`), and how to stop it. */
  #open(): { id: number; outcome: Promise<RawRun>; readonly stopped: boolean; stop(why: StopReason): void; watch(signal: AbortSignal | undefined): void } {
    const id = this.#nextId++;
    const outcome = new Promise<RawRun>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    // A prepared process discarded before any call is never awaited.
    outcome.catch(() => undefined);
    let stopped = false;
    const stop = (why: StopReason): void => {
      stopped = true;
      this.#send({ type: 'stop', id, why });
    };
    return {
      id,
      outcome,
      get stopped() {
        return stopped;
      },
      stop,
      watch(signal) {
        if (!signal) return;
        const onAbort = (): void => stop('cancelled');
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        const detach = (): void => signal.removeEventListener('abort', onAbort);
        outcome.then(detach, detach);
      },
    };
  }

  /** Stops every call and kills every process any call left; the spawner exits. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'close' } satisfies ToSpawner);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
