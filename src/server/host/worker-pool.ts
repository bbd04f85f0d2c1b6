/**
 * A pool of worker threads that run in-process guests (the `wasm` runtime; any runtime whose guest
 * can run in a worker), so a runaway guest can be stopped (`worker.terminate()`, ~3 ms) and the event
 * loop stays free. Workers are started once (~60 ms each) and replaced when terminated; artifacts
 * (compiled modules) are posted once per worker and cached there by key. A bounded queue answers
 * `busy` when full. The worker script runs `serveWorker` (src/server/host/worker-loop.ts).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClockAnchor } from '../../clock.js';
import { RuntimeError } from './errors.js';
import type { Limits } from './runtime.js';
import type { WorkerDone, WorkerReply, WorkerRequest } from './worker-protocol.js';

export interface WorkerPoolOptions {
  /** The worker script (a .ts file under tsx is started through tsx's loader). */
  script: URL;
  /** Names the runtime in messages ("wasm"). */
  what: string;
  size: number;
  queueLimit: number;
  anchor: ClockAnchor;
}

interface Job<A> {
  id: number;
  key: string;
  artifact: A;
  input: Uint8Array;
  limits: Pick<Limits, 'timeoutMs' | 'maxOutputBytes'>;
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
}

/**
 * Under tsx (tests, dev) the worker is a .ts file, and Node 20 workers do not inherit tsx's loader
 * hooks: start them through a tiny bootstrap that registers tsx first.
 */
function newWorker(script: URL, workerData: { control: SharedArrayBuffer; anchor: ClockAnchor }): Worker {
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** The URL of a worker script beside `moduleUrl` (`import.meta.url`), with the caller's own extension (.ts under tsx, .js built). */
export function workerScript(moduleUrl: string, basename: string): URL {
  // fileURLToPath drops the query tsx may append to a module's URL.
  return new URL(`./${basename}${extname(fileURLToPath(moduleUrl))}`, moduleUrl);
}

const shuttingDown = (): RuntimeError => new RuntimeError('shutting-down', 'the server is shutting down');

export class WorkerPool<A> {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Array<Slot<A>> = [];
  readonly #queue: Array<Job<A>> = [];
  #anchor: ClockAnchor;
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#anchor = options.anchor;
    for (let i = 0; i < Math.max(1, options.size); i++) this.#slots.push(this.#spawn());
  }

  get size(): number {
    return this.#slots.length;
  }

  /**
   * Runs the guest `artifact` (cached by the workers under `key`) once with `input` on stdin. Rejects
   * `busy` when the queue is full, `timeout` after `limits.timeoutMs` (the worker is replaced).
   */
  run(key: string, artifact: A, input: Uint8Array, limits: Pick<Limits, 'timeoutMs' | 'maxOutputBytes'>): Promise<WorkerDone> {
    if (this.#closed) return Promise.reject(shuttingDown());
    const idle = this.#slots.find((s) => !s.job);
    if (!idle && this.#queue.length >= this.#options.queueLimit) {
      return Promise.reject(
        new RuntimeError(
          'busy',
          `all ${this.#slots.length} ${this.#options.what} workers are busy and ${this.#queue.length} invocations wait (--queue); retry later`,
        ),
      );
    }
    return new Promise<WorkerDone>((resolve, reject) => {
      const job: Job<A> = { id: this.#nextId++, key, artifact, input, limits, resolve, reject };
      if (idle) this.#dispatch(idle, job);
      else this.#queue.push(job);
    });
  }

  /** Tells every worker the new clock anchor (after re-anchoring). */
  setAnchor(anchor: ClockAnchor): void {
    this.#anchor = anchor;
    for (const slot of this.#slots) this.#post(slot, { type: 'anchor', anchor });
  }

  /** Drops an artifact from every worker's cache (after a redeploy or delete). */
  forget(key: string): void {
    for (const slot of this.#slots) {
      if (slot.keys.delete(key)) this.#post(slot, { type: 'forget', key });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(shuttingDown());
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        slot.job?.reject(shuttingDown());
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  #spawn(): Slot<A> {
    const control = new SharedArrayBuffer(4);
    const worker = newWorker(this.#options.script, { control, anchor: this.#anchor });
    worker.unref();
    const slot: Slot<A> = { worker, wake: new Int32Array(control), keys: new Set(), job: undefined, timer: undefined };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (error) => this.#onCrash(slot, `${this.#options.what} worker failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.#closed && this.#slots.includes(slot)) this.#onCrash(slot, `${this.#options.what} worker exited with code ${code}`);
    });
    return slot;
  }

  #dispatch(slot: Slot<A>, job: Job<A>): void {
    slot.job = job;
    const known = slot.keys.has(job.key);
    slot.keys.add(job.key);
    const msg: WorkerRequest<A> = {
      type: 'run',
      id: job.id,
      key: job.key,
      input: job.input,
      maxOutputBytes: job.limits.maxOutputBytes,
      ...(known ? {} : { artifact: job.artifact }),
    };
    this.#post(slot, msg);
    slot.timer = setTimeout(() => this.#onTimeout(slot), job.limits.timeoutMs);
  }

  #post(slot: Slot<A>, msg: WorkerRequest<A>): void {
    slot.worker.postMessage(msg);
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
  }

  #onReply(slot: Slot<A>, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    if (reply.type === 'missing') {
      slot.keys.delete(job.key);
      if (slot.timer) clearTimeout(slot.timer);
      this.#dispatch(slot, job);
      return;
    }
    this.#finish(slot);
    job.resolve(reply);
  }

  #onTimeout(slot: Slot<A>): void {
    const job = slot.job;
    if (!job) return;
    this.#replace(slot);
    job.reject(new RuntimeError('timeout', `the function ran longer than ${job.limits.timeoutMs} ms and was stopped (--timeout-ms)`));
  }

  #onCrash(slot: Slot<A>, message: string): void {
    const job = slot.job;
    this.#replace(slot);
    job?.reject(new RuntimeError('failed', message, 'worker-crashed'));
  }

  /** Terminates a slot's worker (if alive) and puts a fresh one in its place. */
  #replace(slot: Slot<A>): void {
    if (slot.timer) clearTimeout(slot.timer);
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    slot.job = undefined;
    this.#slots.splice(index, 1);
    void slot.worker.terminate();
    if (this.#closed) return;
    const fresh = this.#spawn();
    this.#slots.splice(index, 0, fresh);
    this.#next(fresh);
  }

  #finish(slot: Slot<A>): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    this.#next(slot);
  }

  #next(slot: Slot<A>): void {
    const job = this.#queue.shift();
    if (job) this.#dispatch(slot, job);
  }
}
