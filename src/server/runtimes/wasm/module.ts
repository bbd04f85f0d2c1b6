/**
 * Deploy-time checks for WASI preview1 modules: the module is validated, its memory and tables are
 * capped (src/server/host/wasm-binary.ts) and it is compiled once.
 */
import { invalidArtifact } from '../../host/errors.js';
import { capModule, validateModule, MAX_TABLE_ENTRIES } from '../../host/wasm-binary.js';

export const WASI_MODULE = 'wasi_snapshot_preview1';

/** A name from the module, shortened for a message (import names can be megabytes long). */
function clip(name: string): string {
  return name.length > 80 ? `${name.slice(0, 80)}… (${name.length} characters)` : name;
}

/**
 * Validates, caps and compiles a WASI preview1 command module; names what is wrong for a 422.
 * Compiling here (once per deploy or start-up) is the thesis' key fix: calls only instantiate.
 */
export async function prepareWasm(bytes: Uint8Array, capMb: number): Promise<WebAssembly.Module> {
  await validateModule(bytes);
  const module = await WebAssembly.compile(capModule(bytes, { memoryMb: capMb, tableEntries: MAX_TABLE_ENTRIES }));
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw invalidArtifact('wasm module exports no _start function: build it as a WASI command (clang --target=wasm32-wasi)');
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw invalidArtifact('wasm module exports no memory: WASI preview1 needs an exported "memory"');
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== WASI_MODULE || imp.kind !== 'function') {
      throw invalidArtifact(
        `wasm module imports ${imp.kind} ${clip(imp.module)}.${clip(imp.name)}; only ${WASI_MODULE} functions are provided`,
      );
    }
  }
  return module;
}
