/**
 * One run of a transpiled component: instantiate the glue with the host's imports and the compiled
 * core modules, then `wasi:cli/run` — used by the worker (src/server/runtimes/component/worker.ts)
 * and by bench/server-bench.ts for the floor, so both measure the same path.
 */
import type { GuestOutcome } from '../../host/worker-protocol.js';
import type { CoreModules } from './artifact.js';
import { ComponentExit, type ComponentCall, type WasiP2Host } from './wasi-p2.js';

/** The `instantiate` an `--instantiation async` glue exports. */
export type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface LoadedComponent {
  instantiate: Instantiate;
  modules: CoreModules;
}

/**
 * Readies this thread for the glue; together the two cut a bare call from 17.4 to 3.3 ms
 * (docs/performance.md, "component"). The glue tries WebAssembly.promising (JS promise integration),
 * which Node 20 lacks, building and catching a TypeError on every instantiation; no import
 * here suspends, so the identity is what it falls back to anyway. And the glue's debug logging reads
 * process.env.JCO_DEBUG at each of its internal steps; process.env is an exotic object whose every
 * read goes into C++, a plain copy is not (the thread's environment no longer changes after this).
 */
export function prepareThread(): void {
  const wasm = WebAssembly as unknown as { promising?: (f: unknown) => unknown };
  if (typeof wasm.promising !== 'function') wasm.promising = (f) => f;
  process.env = { ...process.env };
}

/** Imports a stored glue file. */
export async function loadComponent(glueUrl: string, modules: CoreModules): Promise<LoadedComponent> {
  const glue = (await import(glueUrl)) as { instantiate: Instantiate };
  return { instantiate: glue.instantiate, modules };
}

/**
 * Synchronous core instantiation (the glue then returns the exports without a promise turn), keeping
 * the instances' memories so a failure at the memory cap can be told (docs/runtimes.md, "Limits").
 */
function instantiator(memories: WebAssembly.Memory[]) {
  return (module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance => {
    const instance = new WebAssembly.Instance(module, imports);
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
    return instance;
  };
}

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

/** A component instantiated and not yet run (`prewarmed` mode), with its core instances' memories. */
export interface PreparedComponent {
  run: () => void;
  memories: WebAssembly.Memory[];
}

/**
 * Instantiates a fresh component with the host's imports (which read whichever call is bound when it
 * runs); its memories are collected into `memories` as it goes, so a failure in it still reports them.
 */
export async function instantiateComponent(component: LoadedComponent, host: WasiP2Host, memories: WebAssembly.Memory[] = []): Promise<PreparedComponent> {
  const made = component.instantiate((name) => component.modules[name]!, host.imports, instantiator(memories));
  return { run: runExport(made instanceof Promise ? await made : made), memories };
}

/**
 * Runs a fresh instance with `call`'s buffers — `prepared` when one was instantiated ahead, else a
 * new one; `ready` is called right before `run`.
 */
export async function runComponent(
  component: LoadedComponent,
  host: WasiP2Host,
  call: ComponentCall,
  ready?: () => void,
  prepared?: PreparedComponent,
): Promise<GuestOutcome> {
  host.bind(call);
  const memories: WebAssembly.Memory[] = prepared?.memories ?? [];
  const outcome = (exitCode: number | null, error?: string): GuestOutcome => ({
    exitCode,
    stdout: call.stdout.concat(),
    stderr: call.stderr.concat(),
    truncated: call.stdout.dropped + call.stderr.dropped > 0,
    ...(memories.length > 0 ? { memoryBytes: Math.max(...memories.map((m) => m.buffer.byteLength)) } : {}),
    ...(error === undefined ? {} : { error }),
  });
  try {
    const instance = prepared ?? (await instantiateComponent(component, host, memories));
    ready?.();
    instance.run();
    return outcome(0);
  } catch (error) {
    if (error instanceof ComponentExit) return outcome(error.code);
    // A guest's own failure result (run returned err without calling exit) is a failed exit.
    if (error instanceof Error && error.name === 'ComponentError') return outcome(1);
    return outcome(null, describe(error));
  }
}
