/**
 * The `wasm` runtime: WASI preview1 command modules, validated, memory-capped and compiled once at
 * deploy (src/server/runtimes/wasm/module.ts); each call runs a fresh instance in the worker pool
 * (src/server/host/pooled-runtime.ts). ready is stamped right before `_start`: nothing of ours runs
 * between it and the guest's code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../../host/digest.js';
import { PooledRuntime } from '../../host/pooled-runtime.js';
import type { ArtifactMeta, HostContext, Invocation, Loaded, RawRun, Runtime, Staged, StoredFunction } from '../../host/runtime.js';
import { checkWasmHeader } from '../../host/wasm-binary.js';
import { workerScript } from '../../host/worker-pool.js';
import { prepareWasm } from './module.js';

export interface WasmMeta extends ArtifactMeta {
  bytes: number;
}

const FILE = 'module.wasm';

export class WasmRuntime extends PooledRuntime<WebAssembly.Module, WasmMeta> implements Runtime<WasmMeta> {
  readonly name = 'wasm';
  readonly artifact = 'wasm';

  constructor(host: HostContext) {
    super(host, workerScript(import.meta.url, 'worker'), 'wasm');
  }

  uploadHead(): { bytes: number; check: (head: Buffer) => void } {
    return { bytes: 8, check: checkWasmHeader };
  }

  async accept(name: string, bytes: Buffer): Promise<Staged<WasmMeta>> {
    const module = await prepareWasm(bytes, this.host.limits.maxMemoryMb);
    const hash = sha256(bytes);
    return {
      meta: { sha256: hash, bytes: bytes.length },
      files: [{ name: FILE, bytes }],
      commit: () => this.hold(name, hash, module),
    };
  }

  async load(fn: StoredFunction, meta: WasmMeta): Promise<Loaded<WasmMeta>> {
    const bytes = await readFile(join(fn.dir, FILE));
    const module = await prepareWasm(bytes, this.host.limits.maxMemoryMb);
    const hash = sha256(bytes);
    this.hold(fn.name, hash, module);
    if (hash === meta.sha256) return { meta };
    return {
      meta: { sha256: hash, bytes: bytes.length },
      warning: `${FILE} was newer than its meta.json (interrupted deploy); using the file`,
    };
  }

  describe(meta: WasmMeta): Record<string, unknown> {
    return { sha256: meta.sha256, bytes: meta.bytes };
  }

  invoke(call: Invocation): Promise<RawRun> {
    return this.runHeld(call, `PUT /functions/${call.fn.name}/wasm`);
  }
}
