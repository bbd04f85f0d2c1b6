/**
 * A separately started `nebula serve` for the benches that measure what a user's server does: its own
 * process (so the bench's own heap and event loop are not the server's), an ephemeral port, a temp
 * store, the bundled functions deployed. `stop()` ends it (SIGTERM, then SIGKILL) and removes the store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TargetClient } from '../src/client/target.js';
import { deployFunctions } from '../src/deploy/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServeProcess {
  url: string;
  client: TargetClient;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `nebula serve` from the sources (not a stale dist/) with `args`, waits for its address, deploys `functions` (folders under functions/). */
export async function startServeProcess(functions: readonly string[], args: readonly string[] = []): Promise<ServeProcess> {
  const store = await mkdtemp(join(tmpdir(), 'nebula-bench-store-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--port', '0', '--store', store, ...args], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      text += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`nebula serve exited (${code}) before listening: ${text}`)));
  });
  const client = new TargetClient(url, { timeoutMs: 120_000 });
  try {
    await deployFunctions(
      client,
      functions.map((name) => join(ROOT, 'functions', name)),
    );
  } catch (error) {
    // A failed deploy (e.g. no native build: run `nebula build` first) must not leave the server running.
    await client.close();
    child.kill('SIGKILL');
    await rm(store, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    client,
    child,
    async stop(): Promise<void> {
      await client.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await rm(store, { recursive: true, force: true });
    },
  };
}
