/**
 * Turns a WASI preview1 command module into a WASI 0.2 component with jco's preview1 → preview2
 * command adapter — what `jco new module.wasm --wasi-command` does, called as a library so the build
 * needs no extra process. The adapter file comes from @bytecodealliance/jco (pinned in
 * package-lock.json, so the component is the same byte for byte on every machine); the wasm-tools
 * that wraps module and adapter into a component comes from @bytecodealliance/jco-transpile.
 */
import { readFile } from 'node:fs/promises';
import { BuildError } from '../errors.js';

/** The adapter's import name in the module: the module imports its WASI functions from it. */
const ADAPTED_MODULE = 'wasi_snapshot_preview1';

let adapter: Promise<Uint8Array> | undefined;

/** jco's command adapter, read once per process. */
function commandAdapter(): Promise<Uint8Array> {
  adapter ??= (async () => {
    let api: string;
    try {
      api = import.meta.resolve('@bytecodealliance/jco');
    } catch (error) {
      throw new BuildError('building components needs @bytecodealliance/jco (its preview1 command adapter), which is not installed', {
        code: 'toolchain-missing',
        hint: 'Run npm install in the Nebula checkout (jco is a development dependency), or pass --no-component.',
        cause: error,
      });
    }
    // The package exports only its API (dist/api.js); the adapter sits in lib/ beside dist/.
    return readFile(new URL('../lib/wasi_snapshot_preview1.command.wasm', api));
  })();
  return adapter;
}

/** Wraps a preview1 command module (linked with functions/nebula-component.c) into a component. */
export async function adaptToComponent(name: string, module: Uint8Array): Promise<Uint8Array> {
  const [{ componentNew }, bytes] = await Promise.all([import('@bytecodealliance/jco-transpile/wasm-tools'), commandAdapter()]);
  try {
    return await componentNew(module, [[ADAPTED_MODULE, bytes]]);
  } catch (error) {
    throw new BuildError(`${name}: the preview1 command adapter cannot turn the module into a component: ${(error as Error).message}`, {
      code: 'compile-failed',
      hint: 'The module may import something beyond WASI preview1; see docs/functions.md, "Components".',
      cause: error,
    });
  }
}
