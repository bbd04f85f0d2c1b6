/** Runs a built function the two ways the tests compare: a native process, and a wasm module in node:wasi. */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WASI } from 'node:wasi';
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

/**
 * Runs a WASI preview1 command module in-process through node:wasi, which needs real file descriptors
 * for stdio: temp files in a scratch dir.
 */
export async function runWasi(module: WebAssembly.Module, input: string, scratch: string): Promise<RunOutput> {
  const [inPath, outPath, errPath] = ['in', 'out', 'err'].map((n) => path.join(scratch, n)) as [string, string, string];
  await writeFile(inPath, input);
  const stdin = await open(inPath, 'r');
  const stdout = await open(outPath, 'w');
  const stderr = await open(errPath, 'w');
  let code: number;
  try {
    const wasi = new WASI({ version: 'preview1', args: ['fn'], env: {}, stdin: stdin.fd, stdout: stdout.fd, stderr: stderr.fd, returnOnExit: true });
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    code = wasi.start(instance);
  } finally {
    await Promise.all([stdin.close(), stdout.close(), stderr.close()]);
  }
  return { code, stdout: await readFile(outPath, 'utf8'), stderr: await readFile(errPath, 'utf8') };
}
