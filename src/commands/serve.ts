/** `nebula serve`: starts the FaaS host, prints its URL on stderr, closes cleanly on SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { startServer } from '../server/index.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  store?: string;
  token?: string;
  workers?: string;
  timeoutMs?: string;
  maxMemoryMb?: string;
  queue?: string;
  dockerSocket?: string;
  maxInputKb?: string;
  maxArtifactMb?: string;
}

/** Parses a numeric flag; the error names the flag. */
function num(raw: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export async function serveCommand(opts: ServeFlags): Promise<number> {
  const maxInputKb = num(opts.maxInputKb, '--max-input-kb', 1);
  const maxArtifactMb = num(opts.maxArtifactMb, '--max-artifact-mb', 1);
  const storeDir = resolve(opts.store ?? '.nebula/store');
  const server = await startServer({
    host: opts.host ?? '127.0.0.1',
    port: num(opts.port, '--port', 0, 65535) ?? 3090,
    storeDir,
    token: opts.token ?? process.env.NEBULA_TOKEN,
    workers: num(opts.workers, '--workers', 1, 256),
    timeoutMs: num(opts.timeoutMs, '--timeout-ms', 1),
    maxMemoryMb: num(opts.maxMemoryMb, '--max-memory-mb', 1, 65536),
    queueLimit: num(opts.queue, '--queue', 0),
    dockerSocket: opts.dockerSocket,
    ...(maxInputKb ? { maxInputBytes: maxInputKb * 1024 } : {}),
    ...(maxArtifactMb ? { maxArtifactBytes: maxArtifactMb * 1024 * 1024 } : {}),
    onWarning: (message) => process.stderr.write(`nebula serve: ${message}\n`),
  });
  const docker = server.docker.available ? 'docker: yes' : `docker: no (${server.docker.reason})`;
  process.stderr.write(`nebula serve: listening on ${server.url} (store ${storeDir}; ${docker})\n`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stderr.write('nebula serve: shutting down\n');
  await server.close();
  return ExitCode.Ok;
}
