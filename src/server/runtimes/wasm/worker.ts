/**
 * Worker thread of the `wasm` runtime's pool: a fresh instance per call of the cached module (made
 * when the call arrives, or ahead of it in `prewarmed` mode), `_start` with in-memory stdio (src/server/runtimes/wasm/wasi.ts). The loop is the shared one in
 * src/server/host/worker-loop.ts.
 */
import { OutputBuffer } from '../../host/output-buffer.js';
import { serveWorker } from '../../host/worker-loop.js';
import { createWasiHost, runInstance, type WasiCall, type WasiHost } from './wasi.js';

await serveWorker<WebAssembly.Module, { module: WebAssembly.Module; host: WasiHost }, WebAssembly.Instance>((clocks) => ({
  load: (module) => ({ module, host: createWasiHost(module, clocks) }),
  // Instantiated with the host's imports, which read whichever call is bound when `_start` runs.
  prepare: (entry) => new WebAssembly.Instance(entry.module, entry.host.imports),
  run(entry, input, maxOutputBytes, ready, prepared) {
    const call: WasiCall = {
      stdin: input,
      stdinPos: 0,
      stdout: new OutputBuffer(maxOutputBytes),
      stderr: new OutputBuffer(maxOutputBytes),
      memory: undefined,
    };
    const outcome = runInstance(entry.module, entry.host, call, ready, prepared);
    return {
      exitCode: outcome.exitCode,
      stdout: call.stdout.concat(),
      stderr: call.stderr.concat(),
      truncated: call.stdout.dropped + call.stderr.dropped > 0,
      ...(call.memory ? { memoryBytes: call.memory.buffer.byteLength } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
  },
}));
