/**
 * `startServer`: the FaaS host behind `nebula serve` (and the in-process server of `nebula demo`).
 * Builds the runtimes from the registry (src/server/runtimes/index.ts) and starts them (the wasm worker
 * pool; a Docker engine probe — the server starts without one and says so in /healthz), opens the
 * store (each runtime loads its stored artifacts) and listens.
 */
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { RealtimeClock } from '../clock.js';
import type { Runtime } from '../protocol/api.js';
import { UsageError } from '../errors.js';
import { createHandler } from './app.js';
import { InvocationTracker } from './settled.js';
import { answerFramingErrors, capConnections, defaultMaxConnections } from './connections.js';
import { Admission } from './admission.js';
import { Limiter } from './host/limiter.js';
import type { Limits, RuntimeHealth } from './host/runtime.js';
import { MetricsRegistry } from './metrics.js';
import { createRuntimes, runtimeList } from './runtimes/index.js';
import { FunctionStore } from './store.js';

/**
 * Default queue per slot: with 128 per wasm worker, 200 closed-loop clients on 2 workers all wait
 * (and are served at capacity) instead of most spinning on 503s — the old fixed 64 gave 91.5 % 503
 * and 164 ok/s against 840 ok/s with a larger queue (docs/reliability.md). A wait is still bounded
 * by --queue-timeout-ms.
 */
export const QUEUE_PER_SLOT = 128;

export interface ServerOptions {
  /** Address to bind (default 127.0.0.1). Anything but loopback needs `token`. */
  host?: string;
  /** Port (default 3090; 0 = ephemeral). */
  port?: number;
  storeDir: string;
  /** Bearer token for PUT/DELETE. */
  token?: string | undefined;
  /** Wasm worker threads (default: number of CPUs). */
  workers?: number;
  /** Per-invocation timeout (default 30 000 ms) → 504. */
  timeoutMs?: number;
  /** Memory cap per wasm instance and per container (default 256 MiB). */
  maxMemoryMb?: number;
  /** Invocations allowed to wait per runtime before 503 (default: QUEUE_PER_SLOT × the runtime's slots). */
  queueLimit?: number;
  /** Longest wait for a slot before 503 queue-timeout (default 10 000 ms). */
  queueTimeoutMs?: number;
  /** Docker engine socket; default DOCKER_HOST or /var/run/docker.sock. */
  dockerSocket?: string | undefined;
  /** false: run without the docker runtime at all (no engine probing). */
  docker?: boolean;
  /** Largest invocation input (default 1 MiB) → 413. */
  maxInputBytes?: number;
  /** Largest uploaded artifact (default 256 MiB) → 413. */
  maxArtifactBytes?: number;
  /** Artifact uploads received at once (default 2); 8 more wait, the rest get 503. */
  maxUploads?: number;
  /** Open connections (default 1024, or half the descriptor limit); see capConnections. */
  maxConnections?: number;
  /** Request headers must arrive within this (default 10 000 ms) → 408. */
  headersTimeoutMs?: number;
  /** The whole request (headers and body) must arrive within this (default 300 000 ms) → 408. */
  requestTimeoutMs?: number;
  /** Longest gap between two chunks of a body (default 10 000 ms) → 408. */
  bodyIdleMs?: number;
  /** Largest request head (default 16 KiB, node's) → 431. */
  maxHeaderBytes?: number;
  /** Per-stream cap on captured stdout/stderr (default 1 MiB). */
  maxOutputBytes?: number;
  /** Concurrent native processes (default 2 × CPUs). */
  maxProcesses?: number;
  /** Concurrent containers (default 2 × CPUs). */
  maxContainers?: number;
  /** Each native call in its own cgroup v2 where the server may create one (docs/runtimes.md, "Limits"); default false. */
  cgroups?: boolean;
  /** Re-anchor the realtime clock this often (default 30 s) and tell the workers. */
  reanchorMs?: number;
  /** Where warnings go (store entries skipped, background docker failures). Default: dropped. */
  onWarning?: (message: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Warnings from start-up (e.g. stored artifacts that no longer load). */
  warnings: string[];
  /** Docker availability as found at start-up (reason when false). */
  docker: RuntimeHealth;
  close(): Promise<void>;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Starts the server; resolves once it listens. Throws UsageError (exit 2) for a refused configuration. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  // A blank token ("", "  ") protects nothing: it counts as none.
  const token = options.token?.trim() ? options.token : undefined;
  if (!isLoopback(host) && !token) {
    throw new UsageError(`refusing to bind ${host} without a token: anyone who can reach it could deploy and run code`, {
      hint: 'Pass --token <secret> (or set NEBULA_TOKEN), or bind 127.0.0.1 and use an SSH tunnel.',
    });
  }
  const cpus = availableParallelism();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxMemoryMb = options.maxMemoryMb ?? 256;
  const workers = options.workers ?? cpus;
  const maxProcesses = options.maxProcesses ?? cpus * 2;
  const maxContainers = options.maxContainers ?? cpus * 2;
  const queueTimeoutMs = options.queueTimeoutMs ?? 10_000;
  const queueFor = (slots: number): number => options.queueLimit ?? slots * QUEUE_PER_SLOT;
  const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 300_000;
  const bodyIdleMs = options.bodyIdleMs ?? 10_000;
  const maxUploads = options.maxUploads ?? 2;
  const limits = { timeoutMs, maxMemoryMb, queueLimit: options.queueLimit ?? 0, queueTimeoutMs, workers, maxProcesses, maxContainers, maxConnections, headersTimeoutMs, requestTimeoutMs, bodyIdleMs, maxUploads };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < (name === 'queueLimit' ? 0 : 1)) {
      throw new UsageError(`${name} must be a positive number, got ${value}`);
    }
  }

  const clock = new RealtimeClock();
  const admission = (what: string, slots: number): Admission =>
    new Admission({ what, slots, queue: queueFor(slots), queueTimeoutMs, nowUs: () => clock.nowUs() });
  const runLimits: Limits = { timeoutMs, maxOutputBytes, maxMemoryMb };
  const arch = process.arch;
  const runtimes = createRuntimes(
    { clock, anchor: clock.anchor, limits: runLimits, workers, processSlots: maxProcesses, cgroups: options.cgroups === true, arch, warn },
    { docker: { enabled: options.docker !== false, socketPath: options.dockerSocket, pidsLimit: 64, containers: maxContainers } },
  );
  const all = runtimeList(runtimes);
  const closeRuntimes = async (): Promise<void> => {
    await Promise.all(all.map((r) => r.close()));
  };
  await Promise.all(all.map((r) => r.start?.()));
  clock.startReanchoring(options.reanchorMs ?? 30_000, (anchor) => all.forEach((r) => r.setAnchor?.(anchor)));
  let store: FunctionStore;
  try {
    let storeWarnings: string[];
    ({ store, warnings: storeWarnings } = await FunctionStore.open(options.storeDir, all));
    storeWarnings.forEach(warn);
  } catch (error) {
    clock.stopReanchoring();
    await closeRuntimes();
    throw error;
  }
  const handler = createHandler({
    clock,
    store,
    runtimes,
    limits: runLimits,
    metrics: new MetricsRegistry(),
    // Admission (app.ts) keeps each runtime within its slots; the runtimes' own queues only hold a job
    // while a terminated worker is being replaced.
    admission: Object.fromEntries(all.map((r) => [r.name, admission(r.name, r.slots)])) as Record<Runtime, Admission>,
    token,
    maxInputBytes: options.maxInputBytes ?? 1024 * 1024,
    maxArtifactBytes: options.maxArtifactBytes ?? 256 * 1024 * 1024,
    bodyIdleMs,
    uploads: new Limiter(maxUploads, 8, 'artifact upload'),
    arch,
    warn,
    invocations: new InvocationTracker(),
  });

  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
      // node checks both deadlines on this interval (default 30 s): a 10 s deadline needs a finer one.
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
      ...(options.maxHeaderBytes ? { maxHeaderSize: options.maxHeaderBytes } : {}),
    },
    handler,
  );
  capConnections(server, maxConnections, headersTimeoutMs);
  answerFramingErrors(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 3090, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clock.stopReanchoring();
    await closeRuntimes();
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot listen on ${host}:${options.port ?? 3090}: ${(error as Error).message}`, {
      hint: code === 'EADDRINUSE' ? 'Another process uses that port: pick another with --port.' : 'Check --host and --port.',
      cause: error,
    });
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    warnings,
    docker: runtimes.docker.health(),
    close(): Promise<void> {
      closing ??= (async () => {
        clock.stopReanchoring();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closeRuntimes();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
