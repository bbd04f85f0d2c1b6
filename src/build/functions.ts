/** Finding function directories and their sources: a function is a folder holding `.c` files. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError, UsageError } from '../errors.js';
import { FUNCTION_NAME, type Arch } from '../protocol/api.js';

/** The functions/ folder shipped with Nebula (the four thesis benchmarks and nebula.h). */
export function bundledFunctionsDir(): string {
  // src/build/ (run through tsx) and dist/build/ (compiled) both sit two levels below the package root.
  return fileURLToPath(new URL('../../functions', import.meta.url));
}

/** The function name a directory stands for: its base name, which must be a valid function name. */
export function functionName(dir: string): string {
  const name = path.basename(path.resolve(dir));
  if (!FUNCTION_NAME.test(name)) {
    throw new UsageError(`function directory "${dir}": "${name}" is not a valid function name`, {
      hint: 'Name the folder with lowercase letters, digits and dashes (^[a-z0-9][a-z0-9-]{0,62}$).',
    });
  }
  return name;
}

/** Where `nebula build` puts a function's artifacts. */
export function artifactPaths(dir: string, arch: Arch): { wasm: string; component: string; native: string } {
  const name = functionName(dir);
  return {
    wasm: path.join(dir, `${name}.wasm`),
    component: path.join(dir, `${name}.component.wasm`),
    native: path.join(dir, 'build', `${name}-${arch}`),
  };
}

/** The C file linked into every component's core module (see the file for why it exists). */
export function componentGlueSource(): string {
  return path.join(bundledFunctionsDir(), 'nebula-component.c');
}

/** The `.c` files of a function directory, sorted so the build is the same on every machine. */
export async function sourcesOf(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new UsageError(`function directory "${dir}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'Pass a folder holding the function\'s .c source, e.g. functions/fibonacci-recursive.',
      cause: error,
    });
  }
  const sources = entries.filter((entry) => entry.endsWith('.c')).sort();
  if (sources.length === 0) {
    throw new BuildError(`function directory "${dir}" has no .c source`, {
      code: 'no-source',
      hint: 'A function is a folder with one or more .c files that use functions/nebula.h (see docs/functions.md).',
    });
  }
  return sources;
}

/** Every folder directly inside root that holds a `.c` source, sorted by name. */
export async function listFunctionDirs(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read the functions folder "${root}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'Run from the folder that holds functions/, or pass function directories.',
      cause: error,
    });
  }
  const dirs: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    const files = await readdir(dir);
    if (files.some((file) => file.endsWith('.c'))) dirs.push(dir);
  }
  return dirs;
}

/** True when the path exists and is a directory. */
export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The paths given that are directories, and the others: `nebula build functions/*` expands to the
 * function folders and to functions/nebula.h, which is shared by them and is no function.
 */
export async function splitDirectories(paths: readonly string[]): Promise<{ dirs: string[]; skipped: string[] }> {
  const dirs: string[] = [];
  const skipped: string[] = [];
  for (const p of paths) (await isDirectory(p) ? dirs : skipped).push(p);
  return { dirs, skipped };
}

/** The function directories a command works on: those given, else every one in ./functions, else the bundled ones. */
export async function resolveFunctionDirs(paths: string[]): Promise<string[]> {
  if (paths.length > 0) return paths;
  const local = path.resolve('functions');
  const root = (await isDirectory(local)) ? local : bundledFunctionsDir();
  const dirs = await listFunctionDirs(root);
  if (dirs.length === 0) {
    throw new UsageError(`no function folders (with a .c source) in ${root}`, { hint: 'Pass function directories, e.g. functions/factorial.' });
  }
  return dirs.map((dir) => path.relative(process.cwd(), dir) || '.');
}
