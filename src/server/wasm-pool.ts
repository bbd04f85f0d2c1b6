/**
 * A pool of worker threads that run wasm invocations, so a runaway module can be stopped
 * (`worker.terminate()`, ~3 ms) and the event loop stays free. Workers are started once (~60 ms each)
 * and replaced when terminated; compiled modules are posted once per worker and cached there.
 * A bounded queue answers 503 when full.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClockAnchor } from '../clock.js';
import { HttpError } from './http-error.js';
import type { WorkerReply, WorkerRequest } from './wasm-protocol.js';

export type WasmDone = Extract<WorkerReply, { type: 'done' }>;

export interface WasmPoolOptions {
  size: number;
  queueLimit: number;
  timeoutMs: number;
  maxOutputBytes: number;
  anchor: ClockAnchor;
}

interface Job {
  id: number;
  key: string;
  module: WebAssembly.Module;
  input: Uint8Array;
  resolve: (done: WasmDone) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Int32 flag the worker sleeps on (Atomics.wait); set + notify after each postMessage. */
  wake: Int32Array;
  keys: Set<string>;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

const WORKER_URL = new URL(`./wasm-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Under tsx (tests, dev) the worker is a .ts file, and Node 20 workers do not inherit tsx's loader
 * hooks: start them through a tiny bootstrap that registers tsx first.
 */
function newWorker(workerData: { control: SharedArrayBuffer; anchor: ClockAnchor }): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export class WasmPool {
  readonly #options: WasmPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #anchor: ClockAnchor;
  #nextId = 1;
  #closed = false;

  constructor(options: WasmPoolOptions) {
    this.#options = options;
    this.#anchor = options.anchor;
    for (let i = 0; i < Math.max(1, options.size); i++) this.#slots.push(this.#spawn());
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Runs `_start` of a fresh instance of `module` with `input` on stdin. Rejects 503 when the queue is full, 504 on timeout. */
  run(key: string, module: WebAssembly.Module, input: Uint8Array): Promise<WasmDone> {
    if (this.#closed) return Promise.reject(new HttpError(503, 'shutting-down', 'the server is shutting down'));
    const idle = this.#slots.find((s) => !s.job);
    if (!idle && this.#queue.length >= this.#options.queueLimit) {
      return Promise.reject(
        new HttpError(503, 'busy', `all ${this.#slots.length} wasm workers are busy and ${this.#queue.length} invocations wait (--queue); retry later`),
      );
    }
    return new Promise<WasmDone>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, key, module, input, resolve, reject };
      if (idle) this.#dispatch(idle, job);
      else this.#queue.push(job);
    });
  }

  /** Tells every worker the new clock anchor (after re-anchoring). */
  setAnchor(anchor: ClockAnchor): void {
    this.#anchor = anchor;
    for (const slot of this.#slots) this.#post(slot, { type: 'anchor', anchor });
  }

  /** Drops a module from every worker's cache (after a redeploy or delete). */
  forget(key: string): void {
    for (const slot of this.#slots) {
      if (slot.keys.delete(key)) this.#post(slot, { type: 'forget', key });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new HttpError(503, 'shutting-down', 'the server is shutting down'));
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        slot.job?.reject(new HttpError(503, 'shutting-down', 'the server is shutting down'));
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  #spawn(): Slot {
    const control = new SharedArrayBuffer(4);
    const worker = newWorker({ control, anchor: this.#anchor });
    worker.unref();
    const slot: Slot = { worker, wake: new Int32Array(control), keys: new Set(), job: undefined, timer: undefined };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (error) => this.#onCrash(slot, `wasm worker failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.#closed && this.#slots.includes(slot)) this.#onCrash(slot, `wasm worker exited with code ${code}`);
    });
    return slot;
  }

  #dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    const known = slot.keys.has(job.key);
    slot.keys.add(job.key);
    const msg: WorkerRequest = {
      type: 'run',
      id: job.id,
      key: job.key,
      input: job.input,
      maxOutputBytes: this.#options.maxOutputBytes,
      ...(known ? {} : { module: job.module }),
    };
    this.#post(slot, msg);
    slot.timer = setTimeout(() => this.#onTimeout(slot), this.#options.timeoutMs);
  }

  #post(slot: Slot, msg: WorkerRequest): void {
    slot.worker.postMessage(msg);
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
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

  #onTimeout(slot: Slot): void {
    const job = slot.job;
    if (!job) return;
    this.#replace(slot);
    job.reject(
      new HttpError(504, 'timeout', `the function ran longer than ${this.#options.timeoutMs} ms and was stopped (--timeout-ms)`),
    );
  }

  #onCrash(slot: Slot, message: string): void {
    const job = slot.job;
    this.#replace(slot);
    job?.reject(new HttpError(500, 'worker-crashed', message));
  }

  /** Terminates a slot's worker (if alive) and puts a fresh one in its place. */
  #replace(slot: Slot): void {
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

  #finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    this.#next(slot);
  }

  #next(slot: Slot): void {
    const job = this.#queue.shift();
    if (job) this.#dispatch(slot, job);
  }
}
