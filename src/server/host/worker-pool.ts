/**
 * A pool of worker threads that run in-process guests (the `wasm` runtime; any runtime whose guest
 * can run in a worker), so a runaway guest can be stopped (`worker.terminate()`, ~3 ms) and the event
 * loop stays free. Workers are started once (~60 ms each) and replaced when terminated; artifacts
 * (compiled modules) are posted once per worker and cached there by key. A bounded queue answers
 * `busy` when full. The worker script runs `serveWorker` (src/server/host/worker-loop.ts).
 *
 * Each worker has its own V8 heap limit (`resourceLimits`): a guest that makes the engine allocate on
 * the heap step by step (tables, anything the deploy-time caps miss) ends that worker with
 * ERR_WORKER_OUT_OF_MEMORY, and the call fails as out of memory — without a limit a worker shares the
 * process' heap limit and its exhaustion aborts the whole server ("Reached heap limit"). One single
 * allocation far beyond the limit still aborts the process inside V8 (measured: a 10M-entry
 * table.grow), so runtimes bound what one guest can allocate at deploy (wasm: memory and table caps);
 * this limit is the backstop. A worker that is stopped (timeout, client gone, out of memory) is
 * replaced at once and counted in `stopping` until its thread has really exited (docs/runtimes.md,
 * "Limits").
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClockAnchor } from '../../clock.js';
import { monoToRealUs } from '../../clock.js';
import { RuntimeError, cancelled } from './errors.js';
import type { Limits } from './runtime.js';
import type { WorkerDone, WorkerPrepared, WorkerReply, WorkerRequest } from './worker-protocol.js';

export interface WorkerPoolOptions {
  /** The worker script (a .ts file under tsx is started through tsx's loader). */
  script: URL;
  /** Names the runtime in messages ("wasm"). */
  what: string;
  size: number;
  queueLimit: number;
  anchor: ClockAnchor;
  /** V8 heap limit of each worker (old generation), MiB; default WORKER_HEAP_MB. */
  heapMb?: number;
  /** A stopped worker that has not exited after this long is reported (it still holds its memory). */
  warn?: (message: string) => void;
  /**
   * Longest a worker may take to prepare an instance ahead (`prewarmed` mode) before it is replaced:
   * an instantiation runs guest code (a start function) and is bounded like a call. Default 10 s.
   */
  prepareTimeoutMs?: number;
}

/**
 * Old-generation heap of one worker, MiB. A worker holds its compiled modules' wrappers, one guest's
 * tables and its input/output; wasm linear memory is outside this heap (capped per module at deploy).
 */
export const WORKER_HEAP_MB = 128;
/** Young generation of one worker, MiB (V8's default for a 64-bit heap of this size). */
const WORKER_YOUNG_MB = 16;
/** How long a terminated worker may take to exit before the pool warns. */
const EXIT_GRACE_MS = 5000;

interface Job<A> {
  id: number;
  key: string;
  artifact: A;
  input: Uint8Array;
  limits: Pick<Limits, 'timeoutMs' | 'maxOutputBytes'>;
  /** When it was handed to a worker (µs), the ready stamp of a run that never reported one. */
  dispatchedUs: number;
  /** The worker is loading the artifact for this job (first use in that worker): no timer yet. */
  loading: boolean;
  /** Run in the worker's prepared instance of `key` if it holds one, and prepare the next after. */
  prewarmed: boolean;
  resolve: (done: WorkerDone) => void;
  reject: (error: Error) => void;
}

interface Slot<A> {
  worker: Worker;
  /** Int32 flag the worker sleeps on (Atomics.wait); set + notify after each postMessage. */
  wake: Int32Array;
  keys: Set<string>;
  job: Job<A> | undefined;
  timer: NodeJS.Timeout | undefined;
  /**
   * The worker's loop runs. A replacement takes ~60 ms to boot (seconds under tsx on a loaded
   * machine); a job handed to it meanwhile waits, and its timeout starts when the worker is up.
   */
  booted: boolean;
  /** Keys the worker holds a prepared (never started) instance of. */
  prepared: Set<string>;
  /** Preparations asked of the worker and not yet answered (`prepared` replies). */
  preparing: number;
  /** Bounds the preparations (replaces a worker stuck in one); runs while `preparing` > 0 and no job does. */
  prepareTimer: NodeJS.Timeout | undefined;
  /** Who waits for a preparation of a key in this worker (POST /functions/{name}/prepare). */
  prepareWaiters: Map<string, Array<(ok: boolean) => void>>;
  /** Resolves a pending wake() of this worker when its `pong` arrives. */
  pong: (() => void) | undefined;
}

/**
 * Under tsx (tests, dev) the worker is a .ts file, and Node 20 workers do not inherit tsx's loader
 * hooks: start them through a tiny bootstrap that registers tsx first.
 */
function newWorker(script: URL, workerData: { control: SharedArrayBuffer; anchor: ClockAnchor }, heapMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: WORKER_YOUNG_MB };
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData, resourceLimits });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

/** The URL of a worker script beside `moduleUrl` (`import.meta.url`), with the caller's own extension (.ts under tsx, .js built). */
export function workerScript(moduleUrl: string, basename: string): URL {
  // fileURLToPath drops the query tsx may append to a module's URL.
  return new URL(`./${basename}${extname(fileURLToPath(moduleUrl))}`, moduleUrl);
}

/** The longest wake() waits for a worker's answer (a worker that cannot answer is busy, not asleep). */
const WAKE_LIMIT_MS = 50;

const shuttingDown = (): RuntimeError => new RuntimeError('shutting-down', 'the server is shutting down');

export class WorkerPool<A> {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Array<Slot<A>> = [];
  readonly #queue: Array<Job<A>> = [];
  #anchor: ClockAnchor;
  #nextId = 1;
  #closed = false;
  /** Workers terminated but not yet exited: their threads may still run and hold memory. */
  readonly #stopping = new Set<Promise<void>>();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#anchor = options.anchor;
    for (let i = 0; i < Math.max(1, options.size); i++) this.#slots.push(this.#spawn());
  }

  get size(): number {
    return this.#slots.length;
  }

  /** The runtime's name in messages. */
  get what(): string {
    return this.#options.what;
  }

  /** Workers terminated (timeout, cancel, out of memory) whose threads have not exited yet. */
  get stopping(): number {
    return this.#stopping.size;
  }

  /** Instances being prepared ahead (`prewarmed` mode) in the workers. */
  get preparing(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.preparing, 0);
  }

  /**
   * Has one worker prepare an instance of `key` (a fresh, never-started guest) unless one holds one
   * already; resolves whether one is ready. Prefers an idle worker; a busy one prepares after its call.
   */
  prepare(key: string, artifact: A): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#slots.some((s) => s.prepared.has(key))) return Promise.resolve(true);
    const slot = this.#slots.find((s) => !s.job && s.booted) ?? this.#slots.find((s) => !s.job) ?? this.#slots[0]!;
    return new Promise<boolean>((resolve) => {
      const waiters = slot.prepareWaiters.get(key) ?? [];
      waiters.push(resolve);
      slot.prepareWaiters.set(key, waiters);
      // One preparation per key and worker at a time: the waiters of the first share its answer.
      if (waiters.length > 1) return;
      const known = slot.keys.has(key);
      slot.keys.add(key);
      slot.preparing++;
      this.#post(slot, { type: 'prepare', key, ...(known ? {} : { artifact }) });
      if (!slot.job) this.#startPrepareTimer(slot);
    });
  }

  /**
   * Runs the guest `artifact` (cached by the workers under `key`) once with `input` on stdin. Rejects
   * `busy` when the queue is full, `timeout` after `limits.timeoutMs` (the worker is replaced), and
   * `cancelled` when `signal` fires: a waiting call leaves the queue, a running one's worker is replaced.
   */
  run(
    key: string,
    artifact: A,
    input: Uint8Array,
    limits: Pick<Limits, 'timeoutMs' | 'maxOutputBytes'>,
    signal?: AbortSignal,
    prewarmed = false,
  ): Promise<WorkerDone> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(cancelled(this.#options.what));
    // A prewarmed call goes to the worker that holds an instance prepared for it, when one is idle.
    const idle = (prewarmed ? this.#slots.find((s) => !s.job && s.prepared.has(key)) : undefined) ?? this.#slots.find((s) => !s.job);
    if (!idle && this.#queue.length >= this.#options.queueLimit) {
      return Promise.reject(
        new RuntimeError(
          'busy',
          `all ${this.#slots.length} ${this.#options.what} workers are busy and ${this.#queue.length} invocations wait (--queue); retry later`,
        ),
      );
    }
    return new Promise<WorkerDone>((resolve, reject) => {
      const onAbort = (): void => this.#cancel(job);
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      const job: Job<A> = {
        id: this.#nextId++,
        key,
        artifact,
        input,
        limits,
        dispatchedUs: 0,
        loading: false,
        prewarmed,
        resolve: (done) => {
          detach();
          resolve(done);
        },
        reject: (error) => {
          detach();
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (idle) this.#dispatch(idle, job);
      else this.#queue.push(job);
    });
  }

  /** The client went away: drop the job from the queue, or stop the worker running it. */
  #cancel(job: Job<A>): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) this.#queue.splice(queued, 1);
    else {
      const slot = this.#slots.find((s) => s.job === job);
      if (!slot) return;
      this.#replace(slot);
    }
    job.reject(cancelled(this.#options.what));
  }

  /** Tells every worker the new clock anchor (after re-anchoring). */
  setAnchor(anchor: ClockAnchor): void {
    this.#anchor = anchor;
    for (const slot of this.#slots) this.#post(slot, { type: 'anchor', anchor });
  }

  /** Drops an artifact from every worker's cache (after a redeploy or delete). */
  forget(key: string): void {
    for (const slot of this.#slots) {
      slot.prepared.delete(key);
      if (slot.keys.delete(key)) this.#post(slot, { type: 'forget', key });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(shuttingDown());
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        this.#endPreparations(slot);
        slot.job?.reject(shuttingDown());
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
    await Promise.all([...this.#stopping]);
  }

  #spawn(): Slot<A> {
    const control = new SharedArrayBuffer(4);
    const worker = newWorker(this.#options.script, { control, anchor: this.#anchor }, this.#options.heapMb ?? WORKER_HEAP_MB);
    worker.unref();
    const slot: Slot<A> = {
      worker,
      wake: new Int32Array(control),
      keys: new Set(),
      job: undefined,
      timer: undefined,
      booted: false,
      prepared: new Set(),
      preparing: 0,
      prepareTimer: undefined,
      prepareWaiters: new Map(),
      pong: undefined,
    };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') this.#onOutOfMemory(slot);
      else this.#onCrash(slot, `${this.#options.what} worker failed: ${error.message}`);
    });
    worker.on('exit', (code) => {
      if (!this.#closed && this.#slots.includes(slot)) this.#onCrash(slot, `${this.#options.what} worker exited with code ${code}`);
    });
    return slot;
  }

  #dispatch(slot: Slot<A>, job: Job<A>): void {
    slot.job = job;
    job.dispatchedUs = this.#nowUs();
    const known = slot.keys.has(job.key);
    slot.keys.add(job.key);
    const msg: WorkerRequest<A> = {
      type: 'run',
      id: job.id,
      key: job.key,
      input: job.input,
      maxOutputBytes: job.limits.maxOutputBytes,
      prewarmed: job.prewarmed,
      ...(known ? {} : { artifact: job.artifact }),
    };
    job.loading = !known;
    if (job.prewarmed) {
      // The worker uses the prepared instance (if it holds one) and prepares the next after replying.
      slot.prepared.delete(job.key);
      slot.preparing++;
    }
    this.#post(slot, msg);
    if (slot.booted && !job.loading) this.#startTimer(slot, job);
  }

  #startTimer(slot: Slot<A>, job: Job<A>): void {
    slot.timer = setTimeout(() => this.#onTimeout(slot), job.limits.timeoutMs);
  }

  #post(slot: Slot<A>, msg: WorkerRequest<A>): void {
    slot.worker.postMessage(msg);
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
  }

  /**
   * Wakes every idle worker (a `ping` each, answered at once) and resolves when all answered, at most
   * WAKE_LIMIT_MS. A worker thread asleep since the last call starts a call late (the OS has to
   * schedule it again, its caches went to other work); a settled server wakes them right before
   * the measured call (docs/methodology.md, "Settling"). Busy or booting workers are left alone.
   * Returns how many workers answered.
   */
  async wake(): Promise<number> {
    const idle = this.#slots.filter((s) => s.booted && !s.job && s.preparing === 0 && !s.pong);
    const answered = await Promise.all(
      idle.map(
        (slot) =>
          new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => done(false), WAKE_LIMIT_MS);
            const done = (ok: boolean): void => {
              clearTimeout(timer);
              slot.pong = undefined;
              resolve(ok);
            };
            slot.pong = () => done(true);
            this.#post(slot, { type: 'ping' });
          }),
      ),
    );
    return answered.filter(Boolean).length;
  }

  #onReply(slot: Slot<A>, reply: WorkerReply): void {
    if (reply.type === 'pong') {
      slot.pong?.();
      return;
    }
    if (reply.type === 'prepared') return this.#onPrepared(slot, reply);
    const job = slot.job;
    if (reply.type === 'booted') {
      slot.booted = true;
      if (job && !job.loading && !slot.timer) this.#startTimer(slot, job);
      return;
    }
    if (!job || job.id !== reply.id) return;
    if (reply.type === 'loaded') {
      job.loading = false;
      if (!slot.timer) this.#startTimer(slot, job);
      return;
    }
    if (reply.type === 'missing') {
      slot.keys.delete(job.key);
      if (slot.timer) clearTimeout(slot.timer);
      this.#dispatch(slot, job);
      return;
    }
    this.#finish(slot);
    job.resolve(reply);
  }

  #onPrepared(slot: Slot<A>, reply: WorkerPrepared): void {
    slot.preparing = Math.max(0, slot.preparing - 1);
    if (reply.ok) slot.prepared.add(reply.key);
    else if (reply.error !== undefined) this.#options.warn?.(`${this.#options.what}: preparing an instance failed: ${reply.error}`);
    if (reply.dropped !== undefined) slot.prepared.delete(reply.dropped);
    if (slot.preparing === 0 && slot.prepareTimer) {
      clearTimeout(slot.prepareTimer);
      slot.prepareTimer = undefined;
    }
    const waiters = slot.prepareWaiters.get(reply.key);
    slot.prepareWaiters.delete(reply.key);
    for (const resolve of waiters ?? []) resolve(reply.ok);
  }

  #startPrepareTimer(slot: Slot<A>): void {
    if (slot.prepareTimer || slot.preparing === 0) return;
    const ms = this.#options.prepareTimeoutMs ?? 10_000;
    slot.prepareTimer = setTimeout(() => {
      const job = slot.job;
      this.#options.warn?.(`a ${this.#options.what} worker took longer than ${ms} ms to prepare an instance and was replaced`);
      this.#replace(slot);
      job?.reject(new RuntimeError('failed', `the ${this.#options.what} worker was replaced: preparing an instance ran past ${ms} ms`, 'worker-crashed'));
    }, ms);
  }

  /** A worker goes away: its preparations end unanswered (their waiters learn nothing is prepared). */
  #endPreparations(slot: Slot<A>): void {
    if (slot.prepareTimer) clearTimeout(slot.prepareTimer);
    slot.prepareTimer = undefined;
    slot.preparing = 0;
    slot.prepared.clear();
    for (const waiters of slot.prepareWaiters.values()) for (const resolve of waiters) resolve(false);
    slot.prepareWaiters.clear();
  }

  #onTimeout(slot: Slot<A>): void {
    const job = slot.job;
    if (!job) return;
    this.#replace(slot);
    job.reject(new RuntimeError('timeout', `the function ran longer than ${job.limits.timeoutMs} ms and was stopped (--timeout-ms)`));
  }

  /**
   * The guest made the engine exhaust the worker's heap: like a trap, the function failed (200,
   * ok:false), not the server; the worker is replaced.
   */
  #onOutOfMemory(slot: Slot<A>): void {
    const job = slot.job;
    this.#replace(slot);
    if (!job) return;
    const endedUs = this.#nowUs();
    const heapMb = this.#options.heapMb ?? WORKER_HEAP_MB;
    job.resolve({
      type: 'done',
      id: job.id,
      readyUs: job.dispatchedUs || endedUs,
      endedUs,
      exitCode: null,
      stdout: new Uint8Array(0),
      stderr: new Uint8Array(0),
      truncated: false,
      error: `out of memory: the function exhausted the ${this.#options.what} worker's ${heapMb} MiB heap (tables or other engine allocations) and was stopped`,
    });
  }

  #nowUs(): number {
    return monoToRealUs(this.#anchor, process.hrtime.bigint());
  }

  #onCrash(slot: Slot<A>, message: string): void {
    const job = slot.job;
    this.#replace(slot);
    job?.reject(new RuntimeError('failed', message, 'worker-crashed'));
  }

  /** Terminates a slot's worker (if alive) and puts a fresh one in its place. */
  #replace(slot: Slot<A>): void {
    if (slot.timer) clearTimeout(slot.timer);
    this.#endPreparations(slot);
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    slot.job = undefined;
    this.#slots.splice(index, 1);
    this.#stop(slot.worker);
    if (this.#closed) return;
    const fresh = this.#spawn();
    this.#slots.splice(index, 0, fresh);
    this.#next(fresh);
  }

  /** Terminates a worker and tracks it until its thread has exited (close() waits for that). */
  #stop(worker: Worker): void {
    const grace = setTimeout(() => {
      this.#options.warn?.(`a stopped ${this.#options.what} worker has not exited after ${EXIT_GRACE_MS} ms; its thread still holds memory`);
    }, EXIT_GRACE_MS);
    grace.unref();
    const exited = worker.terminate().then(
      () => undefined,
      () => undefined,
    );
    const tracked = exited.finally(() => {
      clearTimeout(grace);
      this.#stopping.delete(tracked);
    });
    this.#stopping.add(tracked);
  }

  #finish(slot: Slot<A>): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    // A prewarmed call's worker now prepares the next instance: bounded like a call.
    this.#startPrepareTimer(slot);
    this.#next(slot);
  }

  #next(slot: Slot<A>): void {
    const job = this.#queue.shift();
    if (job) this.#dispatch(slot, job);
  }
}
