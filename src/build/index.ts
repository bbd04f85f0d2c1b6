/**
 * `nebula build` as a library: one C source → a wasm32-wasi preview1 module (clang + wasi-libc), the
 * same program as a WASI 0.2 component (the preview1 build adapted with jco's command adapter) and a
 * static native executable (gcc), so wasm, component, native and docker run the same program. The
 * console and `nebula demo` call buildFunctions() directly.
 */
import { createHash } from 'node:crypto';
import { readFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '../errors.js';
import type { Arch } from '../protocol/api.js';
import { runCompiler, type CompileFailure } from './compile.js';
import { adaptToComponent } from './component.js';
import { artifactPaths, bundledFunctionsDir, componentGlueSource, functionName, sourcesOf } from './functions.js';
import {
  COMPONENT_CORE_FLAGS,
  NATIVE_FLAGS,
  WASM_FLAGS,
  defaultToolchain,
  diagnoseNativeFailure,
  diagnoseWasmFailure,
  hostArch,
  nativePackages,
  type Toolchain,
} from './toolchain.js';

export { artifactPaths, bundledFunctionsDir, functionName, listFunctionDirs, resolveFunctionDirs, splitDirectories } from './functions.js';
export { WASM_FLAGS, NATIVE_FLAGS, WASM_MAX_MEMORY, hostArch, type Toolchain } from './toolchain.js';

export interface BuildOptions {
  /** Native target architecture (default: this machine's). */
  arch?: Arch;
  /** Build the static native executable too (default true). */
  native?: boolean;
  /** Build the WASI 0.2 component too (default true). */
  component?: boolean;
  /** Compiler commands (default: clang, gcc, aarch64-linux-gnu-gcc / x86_64-linux-gnu-gcc). */
  toolchain?: Toolchain;
}

export interface BuiltArtifact {
  path: string;
  bytes: number;
  sha256: string;
}

export interface BuiltFunction {
  name: string;
  dir: string;
  wasm: BuiltArtifact;
  component?: BuiltArtifact;
  native?: BuiltArtifact & { arch: Arch };
}

export type BuiltKind = 'wasm' | 'component' | 'native';

export type BuildEvent =
  | { type: 'start'; name: string; kind: BuiltKind; arch?: Arch }
  | { type: 'done'; name: string; kind: BuiltKind; artifact: BuiltArtifact; ms: number };

/**
 * Builds each function directory in turn: the .wasm and .component.wasm next to its source, the
 * native binary under build/.
 */
export async function buildFunctions(
  dirs: string[],
  options: BuildOptions = {},
  onProgress: (event: BuildEvent) => void = () => {},
): Promise<BuiltFunction[]> {
  const arch = options.arch ?? hostArch();
  const native = options.native ?? true;
  const component = options.component ?? true;
  if (native && arch === undefined) {
    throw new BuildError(`cannot pick a native architecture on ${process.arch}`, { hint: 'Pass --arch x64 or --arch arm64, or --no-native.' });
  }
  const toolchain = options.toolchain ?? defaultToolchain();
  const built: BuiltFunction[] = [];
  for (const dir of dirs) {
    const name = functionName(dir);
    const sources = await sourcesOf(dir);
    const out = artifactPaths(dir, arch ?? 'x64');
    const includes = includeFlags(dir);

    onProgress({ type: 'start', name, kind: 'wasm' });
    let t0 = performance.now();
    const wasm = await compileTo(out.wasm, (tmp) =>
      runCompiler(toolchain.clang, [...WASM_FLAGS, ...includes, '-o', tmp, ...sources], dir, (failure) =>
        wasmError(name, toolchain.clang, failure),
      ),
    );
    onProgress({ type: 'done', name, kind: 'wasm', artifact: wasm, ms: performance.now() - t0 });
    const result: BuiltFunction = { name, dir, wasm };

    if (component) {
      onProgress({ type: 'start', name, kind: 'component' });
      t0 = performance.now();
      result.component = await compileTo(out.component, async (tmp) => {
        const core = `${tmp}.core`;
        try {
          await runCompiler(
            toolchain.clang,
            [...WASM_FLAGS, ...COMPONENT_CORE_FLAGS, ...includes, '-o', core, ...sources, componentGlueSource()],
            dir,
            (failure) => wasmError(name, toolchain.clang, failure),
          );
          await writeFile(tmp, await adaptToComponent(name, await readFile(core)));
        } finally {
          await rm(core, { force: true });
        }
      });
      onProgress({ type: 'done', name, kind: 'component', artifact: result.component, ms: performance.now() - t0 });
    }

    if (native && arch !== undefined) {
      const gcc = toolchain.gcc[arch];
      onProgress({ type: 'start', name, kind: 'native', arch });
      t0 = performance.now();
      await mkdir(path.dirname(out.native), { recursive: true });
      const binary = await compileTo(out.native, (tmp) =>
        runCompiler(gcc, [...NATIVE_FLAGS, ...includes, '-o', tmp, ...sources], dir, (failure) =>
          nativeError(name, gcc, arch, failure),
        ),
      );
      onProgress({ type: 'done', name, kind: 'native', artifact: binary, ms: performance.now() - t0 });
      result.native = { ...binary, arch };
    }
    built.push(result);
  }
  return built;
}

/**
 * nebula.h is looked up next to the source first (the compiler does that for "" includes), then in the
 * function's parent folder (a project's own functions/), then in the copy shipped with Nebula.
 */
function includeFlags(dir: string): string[] {
  const parent = path.dirname(path.resolve(dir));
  const bundled = bundledFunctionsDir();
  return parent === bundled ? ['-I', bundled] : ['-I', parent, '-I', bundled];
}

/** Compiles into a temporary file and renames it into place, so a failed build never leaves half a file. */
async function compileTo(target: string, compile: (tmp: string) => Promise<void>): Promise<BuiltArtifact> {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await compile(path.resolve(tmp));
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  const bytes = await readFile(target);
  return { path: target, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function wasmError(name: string, command: string, failure: CompileFailure): BuildError {
  if (failure.missing) {
    return new BuildError(`${name}: the wasm compiler "${command}" is not installed`, {
      code: 'toolchain-missing',
      hint: 'Install it with: apt-get install -y --no-install-recommends clang lld wasi-libc libclang-rt-14-dev-wasm32',
    });
  }
  const pkg = diagnoseWasmFailure(failure.stderr);
  if (pkg) {
    return new BuildError(`${name}: the wasm32-wasi toolchain is incomplete: ${firstErrorLine(failure.stderr)}`, {
      code: 'toolchain-missing',
      hint: `Install the Debian package ${pkg}: apt-get install -y --no-install-recommends ${pkg}`,
    });
  }
  return new BuildError(`${name}: ${command} --target=wasm32-wasi failed:\n${failure.stderr.trimEnd()}`, { code: 'compile-failed' });
}

function nativeError(name: string, command: string, arch: Arch, failure: CompileFailure): BuildError {
  const packages = nativePackages(arch);
  if (failure.missing) {
    return new BuildError(`${name}: the ${arch} compiler "${command}" is not installed`, {
      code: 'toolchain-missing',
      hint: `Install the Debian package ${packages.compiler} (apt-get install -y ${packages.compiler} ${packages.libc}), or pass --no-native.`,
    });
  }
  const pkg = diagnoseNativeFailure(arch, failure.stderr);
  if (pkg) {
    return new BuildError(`${name}: ${command} cannot link a static executable: ${firstErrorLine(failure.stderr)}`, {
      code: 'toolchain-missing',
      hint: `Install the Debian package ${pkg}: apt-get install -y ${pkg}`,
    });
  }
  return new BuildError(`${name}: ${command} -static failed:\n${failure.stderr.trimEnd()}`, { code: 'compile-failed' });
}

function firstErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim());
  return lines.find((line) => /error/i.test(line)) ?? lines.find((line) => line.length > 0) ?? 'no message';
}
