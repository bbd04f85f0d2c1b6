/**
 * What the in-process runtimes (`wasm`, `component`) share: a worker pool running a fresh guest per
 * call, artifacts held by function name and cached in the workers by sha256, and the RawRun a
 * worker's reply becomes. Each runtime adds how it validates, stores and loads its artifact.
 */
import type { ClockAnchor } from '../../clock.js';
import { atMemoryCap, memoryCapReached, notDeployed } from './errors.js';
import type { ArtifactMeta, HostContext, Invocation, RawRun, StoredFunction } from './runtime.js';
import { WorkerPool } from './worker-pool.js';

export abstract class PooledRuntime<A, M extends ArtifactMeta> {
  readonly slots: number;
  protected readonly host: HostContext;
  readonly #pool: WorkerPool<A>;
  /** Prepared artifacts by function name; the pool's workers cache them by sha256. */
  readonly #held = new Map<string, { sha256: string; artifact: A }>();

  /** `script`: the runtime's worker module (workerScript(import.meta.url, 'worker')). */
  constructor(host: HostContext, script: URL, what: string) {
    this.host = host;
    this.slots = host.workers;
    this.#pool = new WorkerPool<A>({
      script,
      what,
      size: host.workers,
      // Admission keeps calls within the workers; this queue only holds a job while a terminated
      // worker is being replaced.
      queueLimit: host.workers,
      anchor: host.anchor,
      warn: host.warn,
      prepareTimeoutMs: host.limits.timeoutMs,
    });
  }

  health(): { available: boolean } {
    return { available: true };
  }

  /** Makes `artifact` the one `name` runs (after the store holds it). */
  protected hold(name: string, sha256: string, artifact: A): void {
    this.#held.set(name, { sha256, artifact });
  }

  forget(name: string, meta: M): void {
    if (this.#held.get(name)?.sha256 === meta.sha256) this.#held.delete(name);
    // Two functions may share one artifact: the workers keep it while any function still uses it.
    for (const held of this.#held.values()) if (held.sha256 === meta.sha256) return;
    this.#pool.forget(meta.sha256);
  }

  /** Runs the held artifact of `call.fn`; `deploy` names the PUT that deploys one when none is held. */
  protected async runHeld(call: Invocation, deploy: string): Promise<RawRun> {
    const held = this.#held.get(call.fn.name);
    if (!held) throw notDeployed(`function "${call.fn.name}" has no ${this.#pool.what} artifact; deploy one with ${deploy}`);
    const done = await this.#pool.run(held.sha256, held.artifact, call.input, call.limits, call.signal, call.mode === 'prewarmed');
    const run: RawRun = {
      readyUs: done.readyUs,
      hostStartUs: done.readyUs,
      endedUs: done.endedUs,
      exitCode: done.exitCode,
      stdout: done.stdout,
      stderr: done.stderr,
    };
    if (done.error) run.error = done.error;
    // A grow past the cap returns -1: a guest that failed with its memory at the cap failed on it.
    const capMb = call.limits.maxMemoryMb;
    if ((done.error || done.exitCode !== 0) && done.memoryBytes !== undefined && atMemoryCap(done.memoryBytes, capMb)) {
      run.error = memoryCapReached(capMb, done.error ?? `exited with code ${done.exitCode}`);
    }
    if (done.truncated) run.truncated = true;
    if (done.prepared) run.prepared = true;
    return run;
  }

  /**
   * Has a worker instantiate a fresh guest of `fn` ahead (`prewarmed` mode): one per worker and
   * function at most, used by one call and then replaced by the worker (docs/runtimes.md, "Start modes").
   */
  prepare(fn: StoredFunction): Promise<boolean> {
    const held = this.#held.get(fn.name);
    if (!held) return Promise.resolve(false);
    return this.#pool.prepare(held.sha256, held.artifact);
  }

  /** Stopped workers whose threads have not exited yet, and instances being prepared ahead. */
  backgroundWork(): number {
    return this.#pool.stopping + this.#pool.preparing;
  }

  /** Wakes the idle worker threads before a measured call (GET /settled; WorkerPool.wake). */
  async wake(): Promise<void> {
    await this.#pool.wake();
  }

  setAnchor(anchor: ClockAnchor): void {
    this.#pool.setAnchor(anchor);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
