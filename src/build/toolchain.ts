/**
 * The compilers `nebula build` drives and how their failures map to the Debian package to install.
 * Flags live here so that one place decides what "the same program everywhere" means.
 */
import type { Arch } from '../protocol/api.js';

/** wasm32-wasi module cap: 64 MiB (1024 pages). Uncapped, a module may grow to 4 GiB. */
export const WASM_MAX_MEMORY = 64 * 1024 * 1024;

/**
 * -ffp-contract=off everywhere: a fused multiply-add (arm64 has one; gcc fuses by default in GNU C)
 * rounds once where wasm rounds twice, and the outputs would differ in the last digit.
 */
const COMMON_FLAGS = ['-O2', '-ffp-contract=off', '-Wall', '-Wextra', '-std=gnu11'];

/** clang flags for a WASI preview1 command module; --strip-all drops the name section (smaller, no paths). */
export const WASM_FLAGS = [
  '--target=wasm32-wasi',
  ...COMMON_FLAGS,
  `-Wl,--max-memory=${WASM_MAX_MEMORY}`,
  '-Wl,--strip-all',
];

/**
 * Extra clang flags for the core module of a component: no crt1 (functions/nebula-component.c brings
 * its own _start and cabi_realloc; the file says why). The preview1 .wasm is built without them.
 */
export const COMPONENT_CORE_FLAGS = ['-nostartfiles'];

/** gcc flags for a static, stripped native executable (it also becomes the FROM scratch image). */
export const NATIVE_FLAGS = [...COMMON_FLAGS, '-static', '-s'];

export interface Toolchain {
  /** The wasm32-wasi C compiler (Debian's clang finds wasi-libc in /usr/include/wasm32-wasi itself). */
  clang: string;
  /** Native compilers by target architecture; the host's own is plain gcc. */
  gcc: Record<Arch, string>;
}

/** The architecture this process runs on, as Nebula names it, or undefined for others. */
export function hostArch(): Arch | undefined {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  return undefined;
}

/** Compiler names for this host: gcc for its own architecture, the Debian cross gcc for the other. */
export function defaultToolchain(host: Arch | undefined = hostArch()): Toolchain {
  return {
    clang: 'clang',
    gcc: {
      x64: host === 'x64' ? 'gcc' : 'x86_64-linux-gnu-gcc',
      arm64: host === 'arm64' ? 'gcc' : 'aarch64-linux-gnu-gcc',
    },
  };
}

/** Debian packages that provide the compiler for arch and its static libc (a cross compiler when arch is not the host's). */
export function nativePackages(arch: Arch, host: Arch | undefined = hostArch()): { compiler: string; libc: string } {
  if (arch === host) return { compiler: 'gcc', libc: 'libc6-dev' };
  return arch === 'arm64'
    ? { compiler: 'gcc-aarch64-linux-gnu', libc: 'libc6-dev-arm64-cross' }
    : { compiler: 'gcc-x86-64-linux-gnu', libc: 'libc6-dev-amd64-cross' };
}

/**
 * Reads a failed clang --target=wasm32-wasi run's stderr and names the missing Debian package, or
 * returns undefined when the failure is the source's own fault.
 */
export function diagnoseWasmFailure(stderr: string): string | undefined {
  if (/libclang_rt\.builtins-wasm32\.a/.test(stderr)) return 'libclang-rt-14-dev-wasm32';
  if (/Executable "wasm-ld[^"]*" doesn't exist|wasm-ld[^\n]*not found/i.test(stderr)) return 'lld';
  if (/unable to find library -lc\b|cannot open crt1[^\s]*\.o|'(stdio|stdlib|string|time)\.h' file not found/.test(stderr)) {
    return 'wasi-libc';
  }
  return undefined;
}

/** Same for a failed static gcc run: the libc development package when its headers or libc.a are missing. */
export function diagnoseNativeFailure(arch: Arch, stderr: string, host: Arch | undefined = hostArch()): string | undefined {
  if (/cannot find -lc\b|(stdio|stdlib|string|time)\.h: No such file or directory|cannot find crt1\.o/.test(stderr)) {
    return nativePackages(arch, host).libc;
  }
  return undefined;
}
