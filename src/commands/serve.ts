/** `nebula serve`: starts the FaaS host, prints its URL on stderr, closes cleanly on SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import { ExitCode } from '../errors.js';
import { numberFlag, untilInterrupted } from './flags.js';
import { startServer } from '../server/index.js';
import { hasDockerGroup, serviceUser, systemdUnit } from './systemd-unit.js';
import { escapeControl } from '../terminal-text.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  store?: string;
  token?: string;
  workers?: string;
  timeoutMs?: string;
  maxMemoryMb?: string;
  queue?: string;
  queueTimeoutMs?: string;
  maxProcesses?: string;
  maxContainers?: string;
  dockerSocket?: string;
  cgroups?: boolean;
  maxInputKb?: string;
  maxArtifactMb?: string;
  maxConnections?: string;
  headerTimeoutMs?: string;
  requestTimeoutMs?: string;
  bodyTimeoutMs?: string;
  maxUploads?: string;
  maxHeaderKb?: string;
  systemdUnit?: boolean;
}

const DEFAULT_STORE = '.nebula/store';

/** serve's flags as given, for ExecStart: the store made absolute (the unit's own by default), never the token. */
function unitArgs(opts: ServeFlags): string[] {
  const args: string[] = [];
  const add = (flag: string, value: string | undefined): void => {
    if (value !== undefined) args.push(flag, value);
  };
  add('--host', opts.host);
  add('--port', opts.port);
  add('--store', opts.store === undefined || opts.store === DEFAULT_STORE ? '/var/lib/nebula/store' : resolve(opts.store));
  add('--workers', opts.workers);
  add('--timeout-ms', opts.timeoutMs);
  add('--max-memory-mb', opts.maxMemoryMb);
  add('--queue', opts.queue);
  add('--docker-socket', opts.dockerSocket);
  add('--max-input-kb', opts.maxInputKb);
  add('--max-artifact-mb', opts.maxArtifactMb);
  add('--max-connections', opts.maxConnections);
  add('--header-timeout-ms', opts.headerTimeoutMs);
  add('--request-timeout-ms', opts.requestTimeoutMs);
  add('--body-timeout-ms', opts.bodyTimeoutMs);
  add('--max-uploads', opts.maxUploads);
  add('--max-header-kb', opts.maxHeaderKb);
  return args;
}

export async function serveCommand(opts: ServeFlags): Promise<number> {
  if (opts.systemdUnit) {
    process.stdout.write(systemdUnit({ serveArgs: unitArgs(opts), user: serviceUser(), environmentFile: '/etc/nebula/serve.env', dockerGroup: hasDockerGroup() }));
    return ExitCode.Ok;
  }
  const maxInputKb = numberFlag(opts.maxInputKb, '--max-input-kb', { min: 1, integer: true });
  const maxArtifactMb = numberFlag(opts.maxArtifactMb, '--max-artifact-mb', { min: 1, integer: true });
  const maxHeaderKb = numberFlag(opts.maxHeaderKb, '--max-header-kb', { min: 1, max: 1024, integer: true });
  const storeDir = resolve(opts.store ?? DEFAULT_STORE);
  const server = await startServer({
    host: opts.host ?? '127.0.0.1',
    port: numberFlag(opts.port, '--port', { min: 0, max: 65535, integer: true }) ?? 3090,
    storeDir,
    token: opts.token,
    workers: numberFlag(opts.workers, '--workers', { min: 1, max: 256, integer: true }),
    timeoutMs: numberFlag(opts.timeoutMs, '--timeout-ms', { min: 1, integer: true }),
    maxMemoryMb: numberFlag(opts.maxMemoryMb, '--max-memory-mb', { min: 1, max: 65536, integer: true }),
    queueLimit: numberFlag(opts.queue, '--queue', { min: 0, integer: true }),
    queueTimeoutMs: numberFlag(opts.queueTimeoutMs, '--queue-timeout-ms', { min: 1, integer: true }),
    maxProcesses: numberFlag(opts.maxProcesses, '--max-processes', { min: 1, max: 4096, integer: true }),
    maxContainers: numberFlag(opts.maxContainers, '--max-containers', { min: 1, max: 4096, integer: true }),
    dockerSocket: opts.dockerSocket,
    maxConnections: numberFlag(opts.maxConnections, '--max-connections', { min: 1, integer: true }),
    headersTimeoutMs: numberFlag(opts.headerTimeoutMs, '--header-timeout-ms', { min: 1, integer: true }),
    requestTimeoutMs: numberFlag(opts.requestTimeoutMs, '--request-timeout-ms', { min: 1, integer: true }),
    bodyIdleMs: numberFlag(opts.bodyTimeoutMs, '--body-timeout-ms', { min: 1, integer: true }),
    maxUploads: numberFlag(opts.maxUploads, '--max-uploads', { min: 1, integer: true }),
    ...(maxHeaderKb ? { maxHeaderBytes: maxHeaderKb * 1024 } : {}),
    cgroups: opts.cgroups === true,
    ...(maxInputKb ? { maxInputBytes: maxInputKb * 1024 } : {}),
    ...(maxArtifactMb ? { maxArtifactBytes: maxArtifactMb * 1024 * 1024 } : {}),
    onWarning: (message) => process.stderr.write(`nebula serve: ${escapeControl(message)}\n`),
  });
  const docker = server.docker.available ? 'docker: yes' : `docker: no (${server.docker.reason})`;
  process.stderr.write(`nebula serve: listening on ${server.url} (store ${storeDir}; ${docker})\n`);
  await untilInterrupted();
  process.stderr.write('nebula serve: shutting down\n');
  await server.close();
  return ExitCode.Ok;
}
