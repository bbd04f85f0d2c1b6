/**
 * Worker thread of the `component` runtime's pool: a fresh instance of the transpiled component per
 * call (instantiated when it arrives, or ahead of it in `prewarmed` mode), `wasi:cli/run` with in-memory stdio (src/server/runtimes/component/instance.ts). The loop is
 * the shared one in src/server/host/worker-loop.ts.
 */
import { OutputBuffer } from '../../host/output-buffer.js';
import { serveWorker } from '../../host/worker-loop.js';
import { instantiateComponent, loadComponent, prepareThread, runComponent, type LoadedComponent, type PreparedComponent } from './instance.js';
import type { ComponentArtifact } from './runtime.js';
import { createWasiP2Host } from './wasi-p2.js';

prepareThread();

await serveWorker<ComponentArtifact, Promise<LoadedComponent>, PreparedComponent>((clocks) => {
  const host = createWasiP2Host(clocks);
  return {
    load: (artifact) => loadComponent(artifact.glueUrl, artifact.modules),
    prepare: async (entry) => instantiateComponent(await entry, host),
    async run(entry, input, maxOutputBytes, ready, prepared) {
      const call = { stdin: input, stdinPos: 0, stdout: new OutputBuffer(maxOutputBytes), stderr: new OutputBuffer(maxOutputBytes) };
      let component: LoadedComponent;
      try {
        component = await entry;
      } catch (error) {
        return { exitCode: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), truncated: false, error: `cannot load the component's glue: ${String(error)}` };
      }
      return runComponent(component, host, call, ready, prepared);
    },
  };
});
