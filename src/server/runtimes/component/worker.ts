/**
 * Worker thread of the `component` runtime's pool: a fresh instance of the transpiled component per
 * call, `wasi:cli/run` with in-memory stdio (src/server/runtimes/component/wasi-p2.ts). The loop is
 * the shared one in src/server/host/worker-loop.ts.
 */
import { OutputBuffer } from '../../host/output-buffer.js';
import { serveWorker } from '../../host/worker-loop.js';
import type { ComponentArtifact } from './runtime.js';
import { ComponentExit, createWasiP2Host, type ComponentCall } from './wasi-p2.js';

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

interface Loaded {
  instantiate: Instantiate;
  modules: ComponentArtifact['modules'];
}

// Both save milliseconds on every instantiation (docs/performance.md, "component"). The glue tries
// WebAssembly.promising (JS promise integration), which Node 20 lacks: the TypeError it throws and
// catches each time cost ~4 ms; no import here suspends, so the identity is what it would fall back
// to. And the glue's debug logging reads process.env.JCO_DEBUG on each of its internal steps; a
// worker's process.env is an exotic object whose every read goes into C++, a plain copy is not.
const wasm = WebAssembly as unknown as { promising?: (f: unknown) => unknown };
if (typeof wasm.promising !== 'function') wasm.promising = (f) => f;
process.env = { ...process.env };

/** Synchronous core instantiation: the glue then returns the exports without a promise turn. */
const instantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance =>
  new WebAssembly.Instance(module, imports);

function runExport(exports: Record<string, unknown>): () => void {
  const key = Object.keys(exports).find((k) => k === 'run' || k.startsWith('wasi:cli/run@'));
  const run = key === undefined ? undefined : (exports[key] as { run?: () => void }).run;
  if (typeof run !== 'function') throw new Error('the component has no wasi:cli/run export');
  return run;
}

function describe(error: unknown): string {
  if (error instanceof WebAssembly.RuntimeError) return `RuntimeError: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

await serveWorker<ComponentArtifact, Promise<Loaded>>((clocks) => {
  const host = createWasiP2Host(clocks);
  return {
    load: async (artifact) => {
      const glue = (await import(artifact.glueUrl)) as { instantiate: Instantiate };
      return { instantiate: glue.instantiate, modules: artifact.modules };
    },
    async run(entry, input, maxOutputBytes, ready) {
      const call: ComponentCall = {
        stdin: input,
        stdinPos: 0,
        stdout: new OutputBuffer(maxOutputBytes),
        stderr: new OutputBuffer(maxOutputBytes),
      };
      host.bind(call);
      const outcome = (exitCode: number | null, error?: string) => ({
        exitCode,
        stdout: call.stdout.concat(),
        stderr: call.stderr.concat(),
        truncated: call.stdout.dropped + call.stderr.dropped > 0,
        ...(error === undefined ? {} : { error }),
      });
      try {
        const { instantiate, modules } = await entry;
        const made = instantiate((name) => modules[name]!, host.imports, instantiateCore);
        const run = runExport(made instanceof Promise ? await made : made);
        ready();
        run();
        return outcome(0);
      } catch (error) {
        if (error instanceof ComponentExit) return outcome(error.code);
        // A guest's own failure result (run returned err without calling exit) is a failed exit.
        if (error instanceof Error && error.name === 'ComponentError') return outcome(1);
        return outcome(null, describe(error));
      }
    },
  };
});
