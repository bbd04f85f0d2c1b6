/**
 * Deploy-time work for the `component` runtime: a WASI 0.2 component is checked, transpiled once by
 * jco (`--instantiation async`: the host hands the glue its own compiled core modules and its own
 * imports, src/server/runtimes/component/wasi-p2.ts), and its core modules are capped
 * (src/server/host/wasm-binary.ts) and compiled. Calls then only instantiate. docs/runtimes.md,
 * "component".
 */
import { invalidArtifact } from '../../host/errors.js';
import { capModule, checkWasmHeader, MAX_TABLE_ENTRIES, validateModule } from '../../host/wasm-binary.js';
import { PROVIDED_INTERFACES } from './wasi-p2.js';

/** Bytes 4–7 of a component: version 0x0d, layer 1 (a core module has version 1, layer 0). */
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];
/** The name the glue is generated under: it asks for its core modules as `component.core*.wasm`. */
const GLUE_NAME = 'component';
/** The glue's file name in the store: .mjs, since the store has no package.json saying "module". */
export const GLUE_FILE = `${GLUE_NAME}.mjs`;

/** Throws 422 unless `head` (the first 8 bytes) starts like a component. */
export function checkComponentHeader(head: Uint8Array): void {
  checkWasmHeader(head);
  if (COMPONENT_VERSION.every((b, i) => head[4 + i] === b)) return;
  if (head[4] === 0x01 && head[5] === 0x00 && head[6] === 0x00 && head[7] === 0x00) {
    throw invalidArtifact(
      'this is a core wasm module, not a WASI 0.2 component: deploy it with PUT /functions/{name}/wasm, or adapt it with `jco new module.wasm --wasi-command` (nebula build does)',
    );
  }
  throw invalidArtifact('not a WASI 0.2 component (unknown wasm version/layer)');
}

/** A transpiled component: the glue's source and its core modules, by the name the glue asks for. */
export interface Transpiled {
  glue: Uint8Array;
  cores: Array<{ name: string; bytes: Uint8Array }>;
}

/** What `instantiate` needs in a worker: compiled, capped core modules by name. */
export type CoreModules = Record<string, WebAssembly.Module>;

/** The WASI interface of an import, without its version: `wasi:cli/stdout@0.2.3` → `wasi:cli/stdout`. */
export function unversioned(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/** Transpiles a component with jco; names what is wrong for a 422. */
export async function transpileComponent(bytes: Uint8Array): Promise<Transpiled> {
  checkComponentHeader(bytes.subarray(0, 8));
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let result: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    // minify: the glue is ~340 KB of generated JS; minified it evaluates faster in every
    // instantiation (docs/performance.md, "component").
    result = await transpileBytes(bytes, { name: GLUE_NAME, instantiation: 'async', base64Cutoff: Number.MAX_SAFE_INTEGER, minify: true });
  } catch (error) {
    throw invalidArtifact(`not a valid WASI 0.2 component: ${error instanceof Error ? error.message : String(error)}`);
  }
  const unsupported = result.imports.filter((name) => !PROVIDED_INTERFACES.has(unversioned(name)));
  if (unsupported.length > 0) {
    throw invalidArtifact(
      `component imports ${unsupported.slice(0, 5).join(', ')}${unsupported.length > 5 ? ` and ${unsupported.length - 5} more` : ''}; the component runtime provides only ${[...PROVIDED_INTERFACES].join(', ')}`,
    );
  }
  if (!result.exports.some(([name, kind]) => kind === 'instance' && unversioned(name) === 'wasi:cli/run')) {
    throw invalidArtifact('component exports no wasi:cli/run: build it as a WASI 0.2 command (e.g. `jco new module.wasm --wasi-command`)');
  }
  const glue = result.files[`${GLUE_NAME}.js`];
  if (!glue) throw invalidArtifact('jco produced no glue for the component');
  const cores = Object.entries(result.files)
    .filter(([name]) => name.endsWith('.wasm'))
    .map(([name, core]) => ({ name, bytes: core }));
  return { glue, cores };
}

/** Caps and compiles the core modules of a transpiled component. */
export async function compileCores(cores: Transpiled['cores'], capMb: number): Promise<CoreModules> {
  const modules: CoreModules = {};
  for (const core of cores) {
    await validateModule(core.bytes, `core module ${core.name}`);
    modules[core.name] = await WebAssembly.compile(capModule(core.bytes, { memoryMb: capMb, tableEntries: MAX_TABLE_ENTRIES }));
  }
  return modules;
}
