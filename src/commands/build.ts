/** `nebula build [functions...] [--arch x64|arm64] [--no-native] [--no-component]`: progress per function on stderr. */
import { buildFunctions, resolveFunctionDirs, splitDirectories, type BuildEvent } from '../build/index.js';
import { UsageError } from '../errors.js';
import type { Arch } from '../protocol/api.js';

export interface BuildCommandOptions {
  arch?: Arch;
  native?: boolean;
  component?: boolean;
}

export async function buildCommand(paths: string[], opts: BuildCommandOptions): Promise<number> {
  // A function is a folder: files among the paths (functions/nebula.h from `functions/*`) are skipped.
  const { dirs: given, skipped } = await splitDirectories(paths);
  for (const file of skipped) process.stderr.write(`skipping ${file}: not a function folder
`);
  if (paths.length > 0 && given.length === 0) {
    throw new UsageError(`no function folder among ${paths.join(', ')}`, { hint: 'Pass function folders, e.g. nebula build functions/factorial.' });
  }
  const dirs = await resolveFunctionDirs(given);
  const built = await buildFunctions(dirs, {
    ...(opts.arch ? { arch: opts.arch } : {}),
    native: opts.native !== false,
    component: opts.component !== false,
  }, printProgress);
  process.stderr.write(`built ${built.length} function${built.length === 1 ? '' : 's'}\n`);
  return 0;
}

function printProgress(event: BuildEvent): void {
  if (event.type === 'start') return;
  const kind = event.kind.padEnd(9);
  const size = `${(event.artifact.bytes / 1024).toFixed(1)} KiB`.padStart(10);
  process.stderr.write(`${event.name.padEnd(22)} ${kind} ${size}  ${event.artifact.path}  (${Math.round(event.ms)} ms)\n`);
}
