/**
 * The `wasm` runtime: WASI preview1 command modules, validated, memory-capped and compiled once at
 * deploy (src/server/runtimes/wasm/module.ts); each call runs a fresh instance in the worker pool.
 * ready is stamped right before `_start`: nothing of ours runs between it and the guest's code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClockAnchor } from '../../../clock.js';
import { sha256 } from '../../host/digest.js';
import { atMemoryCap, memoryCapReached, notDeployed } from '../../host/errors.js';
import type { ArtifactMeta, HostContext, Invocation, Loaded, RawRun, Runtime, Staged, StoredFunction } from '../../host/runtime.js';
import { WorkerPool, workerScript } from '../../host/worker-pool.js';
import { checkWasmHeader } from '../../host/wasm-binary.js';
import { prepareWasm } from './module.js';

export interface WasmMeta extends ArtifactMeta {
  bytes: number;
}

const FILE = 'module.wasm';

export class WasmRuntime implements Runtime<WasmMeta> {
  readonly name = 'wasm';
  readonly artifact = 'wasm';
  readonly slots: number;
  readonly #host: HostContext;
  readonly #pool: WorkerPool<WebAssembly.Module>;
  /** Compiled modules by function name; the pool's workers cache them by sha256. */
  readonly #modules = new Map<string, { sha256: string; module: WebAssembly.Module }>();

  constructor(host: HostContext) {
    this.#host = host;
    this.slots = host.workers;
    this.#pool = new WorkerPool<WebAssembly.Module>({
      script: workerScript(import.meta.url, 'worker'),
      what: 'wasm',
      size: host.workers,
      // Admission keeps calls within the workers; this queue only holds a job while a terminated
      // worker is being replaced.
      queueLimit: host.workers,
      anchor: host.anchor,
      warn: host.warn,
    });
  }

  health(): { available: boolean } {
    return { available: true };
  }

  uploadHead(): { bytes: number; check: (head: Buffer) => void } {
    return { bytes: 8, check: checkWasmHeader };
  }

  async accept(name: string, bytes: Buffer): Promise<Staged<WasmMeta>> {
    const module = await prepareWasm(bytes, this.#host.limits.maxMemoryMb);
    const hash = sha256(bytes);
    return {
      meta: { sha256: hash, bytes: bytes.length },
      files: [{ name: FILE, bytes }],
      commit: () => this.#modules.set(name, { sha256: hash, module }),
    };
  }

  async load(fn: StoredFunction, meta: WasmMeta): Promise<Loaded<WasmMeta>> {
    const bytes = await readFile(join(fn.dir, FILE));
    const module = await prepareWasm(bytes, this.#host.limits.maxMemoryMb);
    const hash = sha256(bytes);
    this.#modules.set(fn.name, { sha256: hash, module });
    if (hash === meta.sha256) return { meta };
    return {
      meta: { sha256: hash, bytes: bytes.length },
      warning: `${FILE} was newer than its meta.json (interrupted deploy); using the file`,
    };
  }

  forget(name: string, meta: WasmMeta): void {
    if (this.#modules.get(name)?.sha256 === meta.sha256) this.#modules.delete(name);
    // Two functions may share one module: the workers keep it while any function still uses it.
    for (const held of this.#modules.values()) if (held.sha256 === meta.sha256) return;
    this.#pool.forget(meta.sha256);
  }

  describe(meta: WasmMeta): Record<string, unknown> {
    return { sha256: meta.sha256, bytes: meta.bytes };
  }

  async invoke(call: Invocation): Promise<RawRun> {
    const held = this.#modules.get(call.fn.name);
    if (!held) throw notDeployed(`function "${call.fn.name}" has no wasm artifact; deploy one with PUT /functions/${call.fn.name}/wasm`);
    const done = await this.#pool.run(held.sha256, held.module, call.input, call.limits, call.signal);
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
    return run;
  }

  /** Stopped workers whose threads have not exited yet. */
  backgroundWork(): number {
    return this.#pool.stopping;
  }

  setAnchor(anchor: ClockAnchor): void {
    this.#pool.setAnchor(anchor);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
