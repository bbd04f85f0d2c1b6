/** `nebula build [functions...] [--arch x64|arm64] [--no-native]`: progress per function on stderr. */
import path from 'node:path';
import { buildFunctions, bundledFunctionsDir, listFunctionDirs, type BuildEvent } from '../build/index.js';
import { isDirectory } from '../build/functions.js';
import { UsageError } from '../errors.js';
import type { Arch } from '../protocol/api.js';

export interface BuildCommandOptions {
  arch?: Arch;
  native?: boolean;
}

/** The function directories a command works on: those given, else every one in ./functions (or the bundled ones). */
export async function resolveFunctionDirs(paths: string[]): Promise<string[]> {
  if (paths.length > 0) return paths;
  const local = path.resolve('functions');
  const root = (await isDirectory(local)) ? local : bundledFunctionsDir();
  const dirs = await listFunctionDirs(root);
  if (dirs.length === 0) {
    throw new UsageError(`no function folders (with a .c source) in ${root}`, { hint: 'Pass function directories, e.g. nebula build functions/factorial.' });
  }
  return dirs.map((dir) => path.relative(process.cwd(), dir) || '.');
}

export async function buildCommand(paths: string[], opts: BuildCommandOptions): Promise<number> {
  const dirs = await resolveFunctionDirs(paths);
  const built = await buildFunctions(dirs, { ...(opts.arch ? { arch: opts.arch } : {}), native: opts.native !== false }, printProgress);
  process.stderr.write(`built ${built.length} function${built.length === 1 ? '' : 's'}\n`);
  return 0;
}

function printProgress(event: BuildEvent): void {
  if (event.type === 'start') return;
  const kind = event.kind === 'wasm' ? 'wasm  ' : 'native';
  const size = `${(event.artifact.bytes / 1024).toFixed(1)} KiB`.padStart(10);
  process.stderr.write(`${event.name.padEnd(22)} ${kind} ${size}  ${event.artifact.path}  (${Math.round(event.ms)} ms)\n`);
}
