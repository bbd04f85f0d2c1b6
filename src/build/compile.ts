/** Runs one compiler invocation and turns its failures into BuildErrors that say what to install. */
import { execFile } from 'node:child_process';
import { BuildError } from '../errors.js';

export interface CompileFailure {
  /** The command could not be started at all (ENOENT): the compiler is not installed. */
  missing: boolean;
  stderr: string;
}

/** Runs command with args in cwd; resolves on exit 0, otherwise rejects with a CompileFailure-shaped BuildError. */
export function runCompiler(
  command: string,
  args: string[],
  cwd: string,
  explain: (failure: CompileFailure) => BuildError,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: the failure messages are matched against their English text.
    execFile(command, args, { cwd, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(explain({ missing, stderr: stderr || error.message }));
    });
  });
}
