/** The `wasm` runtime: a fresh instance per call of the module compiled at deploy, in the worker pool. */
import { notFound } from '../http-error.js';
import type { StoredFunction } from '../store.js';
import type { WasmPool } from '../wasm-pool.js';
import type { FunctionRuntime, RawRun } from './types.js';

export class WasmRuntime implements FunctionRuntime {
  constructor(readonly pool: WasmPool) {}

  async invoke(fn: StoredFunction, input: Buffer): Promise<RawRun> {
    if (!fn.wasmModule || !fn.meta.wasm) {
      throw notFound(`function "${fn.name}" has no wasm artifact; deploy one with PUT /functions/${fn.name}/wasm`);
    }
    const done = await this.pool.run(fn.meta.wasm.sha256, fn.wasmModule, input);
    const run: RawRun = {
      readyUs: done.readyUs,
      // ready is stamped right before `_start`: nothing of ours runs between it and the guest's code.
      hostStartUs: done.readyUs,
      endedUs: done.endedUs,
      exitCode: done.exitCode,
      stdout: done.stdout,
      stderr: done.stderr,
    };
    if (done.error) run.error = done.error;
    if (done.truncated) run.truncated = true;
    return run;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
