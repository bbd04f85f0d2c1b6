/** Builds the bundled functions in a temp dir and runs native builds directly, for the function tests. */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFunctions, bundledFunctionsDir, listFunctionDirs, type BuiltFunction } from '../../src/build/index.js';

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Copies the bundled functions (sources + nebula.h) to a temp dir and builds them there: wasm and native. */
export async function buildBundledInTemp(): Promise<{ root: string; built: Map<string, BuiltFunction>; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nebula-functions-'));
  const source = bundledFunctionsDir();
  await cp(source, root, { recursive: true, filter: (src) => !/[/\\]build$/.test(src) && !src.endsWith('.wasm') });
  const built = await buildFunctions(await listFunctionDirs(root), { native: true });
  return {
    root,
    built: new Map(built.map((fn) => [fn.name, fn])),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Spawns a native executable with input on stdin. */
export function runNative(binary: string, input: string): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [], { encoding: 'utf8', maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
