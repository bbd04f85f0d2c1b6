/**
 * startTestServer(): a real `nebula serve` on 127.0.0.1, ephemeral port, temp store; with a
 * TargetClient. `close()` stops both and removes the store (unless `keepStore`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetClient } from '../../src/client/target.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.js';

export interface TestServer {
  server: RunningServer;
  client: TargetClient;
  url: string;
  storeDir: string;
  /** Stops server and client; removes the store unless keepStore. */
  close(options?: { keepStore?: boolean }): Promise<void>;
}

/** Starts a server for a test; pass `storeDir` to reuse a store (restart tests). */
export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'nebula-store-')));
  const server = await startServer({ workers: 2, ...opts, host: opts.host ?? '127.0.0.1', port: opts.port ?? 0, storeDir });
  const client = new TargetClient(server.url, { token: opts.token, timeoutMs: 60_000 });
  return {
    server,
    client,
    url: server.url,
    storeDir,
    async close(options = {}): Promise<void> {
      await client.close();
      await server.close();
      if (!options.keepStore) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
