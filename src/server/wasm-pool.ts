/**
 * A pool of worker threads that run wasm invocations, so a runaway module can be stopped
 * (`worker.terminate()`, ~3 ms) and the event loop stays free. Workers are started once (~60 ms each)
 * and replaced when terminated; compiled modules are posted once per worker and cached there.
 * A bounded queue answers 503 when full.
 *
 * A job is dispatched as soon as the request is routed, before its body is read, so the worker can
 * instantiate while the body is still on its way; it gets the input later and runs `_start` (see
 * wasm-worker.ts). Nothing is instantiated before a request arrives; an idle worker sleeps in
 * Atomics.wait. The wake-up of a worker with a job but no input yet is deferred to the end of the
 * current event-loop turn (`setImmediate`), because on the 2-vCPU VM we measure on the kernel puts
 * the woken worker on the waking thread's CPU and runs it first (197 of 200 wake-ups, ~20 µs
 * each): waking at once meant instantiate → sleep → read body → wake again, one hand-off more
 * (`startup_us` p50 140–146 µs, vs 120–151 µs before pipelining). Deferred (127–135 µs), a body
 * that is already in the socket comes along with the single wake-up, and one still in flight is
 * waited for while the worker instantiates. bench/server-bench.ts and docs/performance.md have the figures.
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
  /** How long a dispatched job may wait for its body before it gives its worker back (default 50 ms). */
  bodyGraceMs?: number;
}

/**
 * A body this late holds no worker: the instance is dropped and the job waits outside the queue for
 * its input, then is dispatched again. A slow upload therefore costs the pool at most this long.
 */
const BODY_GRACE_MS = 50;

interface Job {
  id: number;
  key: string;
  module: WebAssembly.Module;
  /** The request body; undefined while it is still being read. */
  input: Uint8Array | undefined;
  /**
   * queued: waits for a worker · running: on `slot` (maybe still waiting for its input) ·
   * parked: its body was late, so it gave its worker back and waits for the body · settled.
   */
  state: 'queued' | 'running' | 'parked' | 'settled';
  slot: Slot | undefined;
  resolve: (done: WasmDone) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Int32 flag the worker sleeps on (Atomics.wait); set + notify after each postMessage. */
  wake: Int32Array;
  keys: Set<string>;
  job: Job | undefined;
  /** The body grace while the job waits for its input, then the function's timeout. */
  timer: NodeJS.Timeout | undefined;
  /** A message was posted whose wake-up waits for the end of the event-loop turn. */
  wakePending: boolean;
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

const shuttingDown = (): HttpError => new HttpError(503, 'shutting-down', 'the server is shutting down');

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

  /**
   * Runs `_start` of a fresh instance of `module` with `input` on stdin. `input` may be a promise of
   * the body still being read: the instance is created meanwhile, and a rejection (413, client gone)
   * drops it and rejects with the same error. Rejects 503 when the queue is full, 504 on timeout.
   */
  run(key: string, module: WebAssembly.Module, input: Uint8Array | Promise<Uint8Array>): Promise<WasmDone> {
    if (this.#closed) return Promise.reject(shuttingDown());
    const idle = this.#slots.find((s) => !s.job);
    if (!idle && this.#queue.length >= this.#options.queueLimit) {
      return Promise.reject(
        new HttpError(503, 'busy', `all ${this.#slots.length} wasm workers are busy and ${this.#queue.length} invocations wait (--queue); retry later`),
      );
    }
    return new Promise<WasmDone>((resolve, reject) => {
      const ready = input instanceof Uint8Array;
      const job: Job = { id: this.#nextId++, key, module, input: ready ? input : undefined, state: 'queued', slot: undefined, resolve, reject };
      if (idle) this.#dispatch(idle, job);
      else this.#queue.push(job);
      if (!ready) {
        input.then(
          (bytes) => this.#onInput(job, bytes),
          (error: unknown) => this.#onInputFailed(job, error instanceof Error ? error : new Error(String(error))),
        );
      }
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
    for (const job of this.#queue.splice(0)) this.#settle(job)?.reject(shuttingDown());
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        if (slot.job) this.#settle(slot.job)?.reject(shuttingDown());
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  #spawn(): Slot {
    const control = new SharedArrayBuffer(4);
    const worker = newWorker({ control, anchor: this.#anchor });
    worker.unref();
    const slot: Slot = { worker, wake: new Int32Array(control), keys: new Set(), job: undefined, timer: undefined, wakePending: false };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (error) => this.#onCrash(slot, `wasm worker failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.#closed && this.#slots.includes(slot)) this.#onCrash(slot, `wasm worker exited with code ${code}`);
    });
    return slot;
  }

  #dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    job.state = 'running';
    const known = slot.keys.has(job.key);
    slot.keys.add(job.key);
    const msg: WorkerRequest = {
      type: 'prepare',
      id: job.id,
      key: job.key,
      maxOutputBytes: this.#options.maxOutputBytes,
      ...(known ? {} : { module: job.module }),
      ...(job.input ? { input: job.input } : {}),
    };
    if (job.input) {
      this.#post(slot, msg);
      this.#startTimeout(slot);
    } else {
      this.#post(slot, msg, 'end-of-turn');
      slot.timer = setTimeout(() => this.#onBodyLate(slot), this.#options.bodyGraceMs ?? BODY_GRACE_MS);
    }
  }

  #startTimeout(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.#onTimeout(slot), this.#options.timeoutMs);
  }

  /**
   * Posts `msg` and wakes the worker, at once or at the end of this event-loop turn (see the file
   * comment); a later immediate post wakes it earlier. Post first, then set the flag: the worker
   * clears the flag before it checks its port, so no wake-up is lost.
   */
  #post(slot: Slot, msg: WorkerRequest, wake: 'now' | 'end-of-turn' = 'now'): void {
    slot.worker.postMessage(msg);
    if (wake === 'end-of-turn') {
      slot.wakePending = true;
      setImmediate(() => {
        if (slot.wakePending) this.#wake(slot);
      });
      return;
    }
    this.#wake(slot);
  }

  #wake(slot: Slot): void {
    slot.wakePending = false;
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
  }

  #onInput(job: Job, input: Uint8Array): void {
    job.input = input;
    if (job.state === 'running') {
      this.#post(job.slot!, { type: 'input', id: job.id, input });
      this.#startTimeout(job.slot!);
    } else if (job.state === 'parked') {
      if (this.#closed) {
        this.#settle(job)?.reject(shuttingDown());
        return;
      }
      // Admitted before: it goes ahead of the queue and is not subject to its limit again.
      const idle = this.#slots.find((s) => !s.job);
      if (idle) this.#dispatch(idle, job);
      else {
        job.state = 'queued';
        this.#queue.unshift(job);
      }
    }
    // queued: dispatched later with its input; settled: nothing to do.
  }

  #onInputFailed(job: Job, error: Error): void {
    if (job.state === 'queued') this.#queue.splice(this.#queue.indexOf(job), 1);
    const slot = job.slot;
    const settled = this.#settle(job);
    if (slot) {
      this.#post(slot, { type: 'abort', id: job.id });
      this.#finish(slot); // messages are ordered: the worker drops the instance before any next job
    }
    settled?.reject(error);
  }

  /** The body did not come within the grace: give the worker back, wait for the body unbound. */
  #onBodyLate(slot: Slot): void {
    const job = slot.job;
    if (!job || job.input) return;
    this.#post(slot, { type: 'abort', id: job.id });
    job.state = 'parked';
    job.slot = undefined;
    this.#finish(slot);
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
    this.#settle(job);
    this.#finish(slot);
    job.resolve(reply);
  }

  #onTimeout(slot: Slot): void {
    const job = slot.job;
    if (!job) return;
    this.#settle(job);
    this.#replace(slot);
    job.reject(
      new HttpError(504, 'timeout', `the function ran longer than ${this.#options.timeoutMs} ms and was stopped (--timeout-ms)`),
    );
  }

  #onCrash(slot: Slot, message: string): void {
    const job = slot.job;
    if (job) this.#settle(job);
    this.#replace(slot);
    job?.reject(new HttpError(500, 'worker-crashed', message));
  }

  /** Marks a job done (once): returns it, or undefined when it was settled already. */
  #settle(job: Job): Job | undefined {
    if (job.state === 'settled') return undefined;
    job.state = 'settled';
    job.slot = undefined;
    return job;
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
