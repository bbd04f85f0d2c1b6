/** Shared set-up of the console's integration tests: a real server with functions, the simulated PDU, the CLI. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { artifactPaths, buildFunctions, hostArch } from '../../src/build/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src', 'cli.ts');

/** Deploys bundled functions (wasm + native, built if missing) to a test server. */
export async function deployBundled(server: TestServer, names: string[]): Promise<void> {
  for (const name of names) {
    const dir = join(ROOT, 'functions', name);
    const paths = artifactPaths(dir, hostArch() ?? 'x64');
    if (!existsSync(paths.native) || !existsSync(paths.wasm)) await buildFunctions([dir]);
    await server.client.putArtifact(name, 'wasm', await readFile(paths.wasm));
    await server.client.putArtifact(name, 'native', await readFile(paths.native));
  }
}

export async function serverWith(names: string[]): Promise<TestServer> {
  const server = await startTestServer({ docker: false });
  await deployBundled(server, names);
  return server;
}

export async function tempDir(prefix = 'nebula-console-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeSuite(dir: string, text: string): Promise<string> {
  const file = join(dir, 'suite.yaml');
  await writeFile(file, text);
  return file;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Spawns the real CLI (tsx on src/cli.ts) without blocking this process' event loop (the server runs here). */
export function runCli(args: string[], env: Record<string, string> = {}, extraNodeArgs: string[] = []): CliRun {
  const child = spawn(process.execPath, [...extraNodeArgs, '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

/** The single run directory under `out`. */
export async function onlyRunDir(out: string): Promise<string> {
  const entries = await readdir(out);
  if (entries.length !== 1) throw new Error(`expected one run directory in ${out}, found ${entries.join(', ')}`);
  return join(out, entries[0]!);
}

export async function readJsonLines(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);
}

/** Polls until `check` is true (bounded; the run's own pace decides, not a wall-clock assertion). */
export async function waitFor(check: () => Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Writes a --import preload into `dir` that records every node_modules package the process resolves
 * into `traceFile` (a module-resolve hook), so a test can see what `console --ci` loads.
 */
export async function packageTracer(dir: string, traceFile: string): Promise<string> {
  const hooks = join(dir, 'trace-hooks.mjs');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const match = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
  if (match) appendFileSync(${JSON.stringify(traceFile)}, match[1] + '\\n');
  return result;
}
`,
  );
  const preload = join(dir, 'trace-packages.mjs');
  await writeFile(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return preload;
}
