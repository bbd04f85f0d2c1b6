/**
 * The `docker` runtime: one container per call via dockerode — create → attach (hijacked stream,
 * input written before start) → start → wait — and removal in the background, off the reply's path
 * but always (also after a timeout, which kills first). Containers get `NetworkMode: none`, memory and
 * pids limits and the label `nebula.function=<name>`.
 *
 * Stamps: ready = container created and attached, just before the start request (the start API
 * returns only once the process runs, so its return cannot be "ready"); host start estimate = the
 * start request returned; ended = the wait returned or the output stream ended, whichever came first.
 */
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import type { Clock } from '../clock-source.js';
import { HttpError, invalidArtifact, notFound } from '../http-error.js';
import type { Limiter } from '../limiter.js';
import type { StoredFunction } from '../store.js';
import { OutputBuffer } from '../wasi.js';
import type { FunctionRuntime, RawRun } from './types.js';
import { readImageManifest } from '../artifacts.js';

export const FUNCTION_LABEL = 'nebula.function';

export interface DockerOptions {
  clock: Clock;
  timeoutMs: number;
  maxOutputBytes: number;
  maxMemoryMb: number;
  pidsLimit: number;
  limiter: Limiter;
  /** Engine socket; without it dockerode follows DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string | undefined;
  /** Called with background failures (container removal) so they are not lost. */
  onWarning: (message: string) => void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why the engine does not answer, with what to do when it is a permission problem: on a fresh
 * Raspberry Pi OS the socket is root:docker 660, and a user outside the docker group gets EACCES.
 */
export function unavailableReason(where: string, error: unknown): string {
  if ((error as NodeJS.ErrnoException).code === 'EACCES') {
    return `permission denied on the Docker socket ${where}: add the user running nebula serve to the docker group (sudo usermod -aG docker "$USER", then log in again; the systemd unit has SupplementaryGroups=docker)`;
  }
  return `no Docker engine at ${where}: ${errorText(error)}`;
}

/** Splits Docker's multiplexed attach stream (8-byte headers: type, 0, 0, 0, u32 BE length). */
function demux(stream: NodeJS.ReadableStream, stdout: OutputBuffer, stderr: OutputBuffer): void {
  let pending: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const length = pending.readUInt32BE(4);
      if (pending.length < 8 + length) break;
      const payload = pending.subarray(8, 8 + length);
      if (pending[0] === 2) stderr.push(payload);
      else stdout.push(payload);
      pending = pending.subarray(8 + length);
    }
  });
}

export class DockerRuntime implements FunctionRuntime {
  readonly docker: Docker;
  #available = false;
  #reason = 'not checked yet';
  readonly #where: string;
  readonly #removals = new Set<Promise<void>>();
  /** Containers between create and removal-scheduled: killed on close() so none outlives the server. */
  readonly #running = new Set<Docker.Container>();

  constructor(readonly options: DockerOptions) {
    this.docker = options.socketPath ? new Docker({ socketPath: options.socketPath }) : new Docker();
    this.#where = options.socketPath ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  }

  get available(): boolean {
    return this.#available;
  }

  /** Why docker is unavailable (for /healthz), or undefined when it is available. */
  get reason(): string | undefined {
    return this.#available ? undefined : this.#reason;
  }

  /** Pings the engine (2 s budget) and records whether it answers. */
  async check(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.docker.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
        }),
      ]);
      this.#available = true;
    } catch (error) {
      this.#available = false;
      this.#reason = unavailableReason(this.#where, error);
    } finally {
      clearTimeout(timer);
    }
    return this.#available;
  }

  /** 503 with how to fix it, unless the engine answers (re-checked, so a late-started engine is found). */
  async requireAvailable(): Promise<void> {
    if (this.#available || (await this.check())) return;
    throw new HttpError(
      503,
      'docker-unavailable',
      `the docker runtime is unavailable (${this.#reason}); start the Docker engine (e.g. dockerd) or run nebula serve with --docker-socket PATH`,
    );
  }

  async invoke(fn: StoredFunction, input: Buffer): Promise<RawRun> {
    await this.requireAvailable();
    if (!fn.meta.docker) {
      throw notFound(
        `function "${fn.name}" has no docker image; deploy a native executable (PUT /functions/${fn.name}/native) or an image archive (PUT /functions/${fn.name}/docker)`,
      );
    }
    const release = await this.options.limiter.acquire();
    try {
      return await this.#run(fn.name, fn.meta.docker.image, input);
    } finally {
      release();
    }
  }

  async #run(name: string, image: string, input: Buffer): Promise<RawRun> {
    const { clock, timeoutMs, maxOutputBytes, maxMemoryMb, pidsLimit } = this.options;
    let container: Docker.Container | undefined;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      container = await this.docker.createContainer({
        Image: image,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: true,
        StdinOnce: true,
        Tty: false,
        NetworkDisabled: true,
        Labels: { [FUNCTION_LABEL]: name },
        HostConfig: {
          NetworkMode: 'none',
          Memory: maxMemoryMb * 1024 * 1024,
          MemorySwap: maxMemoryMb * 1024 * 1024,
          PidsLimit: pidsLimit,
        },
      });
      this.#running.add(container);
      const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const stdout = new OutputBuffer(maxOutputBytes);
      const stderr = new OutputBuffer(maxOutputBytes);
      let streamEndedUs = 0;
      const streamEnded = new Promise<void>((resolve) => {
        const done = (): void => {
          streamEndedUs ||= clock.nowUs();
          resolve();
        };
        stream.once('end', done);
        stream.once('close', done);
        stream.once('error', done);
      });
      demux(stream, stdout, stderr);
      // Input goes in before start: the engine buffers it in the container's stdin pipe, and the
      // half-close (StdinOnce) gives the function EOF after its line.
      stream.end(input);
      const started = container;
      timer = setTimeout(() => {
        timedOut = true;
        started.kill().catch(() => undefined);
      }, timeoutMs);
      const readyUs = clock.nowUs();
      await container.start();
      const hostStartUs = clock.nowUs();
      const waited = (await container.wait()) as { StatusCode: number };
      const waitedUs = clock.nowUs();
      await streamEnded;
      if (timedOut) {
        throw new HttpError(504, 'timeout', `the function ran longer than ${timeoutMs} ms and its container was killed (--timeout-ms)`);
      }
      const exitCode = waited.StatusCode;
      const run: RawRun = {
        readyUs,
        hostStartUs,
        endedUs: streamEndedUs ? Math.min(streamEndedUs, waitedUs) : waitedUs,
        exitCode,
        stdout: stdout.concat(),
        stderr: stderr.concat(),
      };
      if (exitCode === 137) run.error = `killed (exit 137): out of memory at the ${maxMemoryMb} MiB limit or SIGKILL`;
      else if (exitCode > 128) run.error = `terminated by signal ${exitCode - 128}`;
      if (stdout.dropped + stderr.dropped > 0) run.truncated = true;
      return run;
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (timedOut) {
        throw new HttpError(504, 'timeout', `the function ran longer than ${timeoutMs} ms and its container was killed (--timeout-ms)`);
      }
      const message = errorText(error);
      if (/no such image/i.test(message)) {
        throw new HttpError(404, 'not-found', `docker image ${image} for "${name}" is missing from the engine; deploy the function again`);
      }
      throw new HttpError(500, 'docker-failed', `docker run of ${image} failed: ${message}`);
    } finally {
      clearTimeout(timer);
      if (container) {
        this.#running.delete(container);
        this.#removeLater(container);
      }
    }
  }

  #removeLater(container: Docker.Container): void {
    const removal = container
      .remove({ force: true })
      .then(
        () => undefined,
        (error: unknown) => {
          const message = errorText(error);
          if (!/no such container|is already in progress/i.test(message)) {
            this.options.onWarning(`docker: could not remove container ${container.id}: ${message}`);
          }
        },
      )
      .finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
  }

  /** Builds `FROM scratch` + the binary as /fn, tagged nebula-fn-<name>:<sha12>. */
  async buildFromNative(name: string, binary: Buffer, sha256: string): Promise<string> {
    await this.requireAvailable();
    const tag = `nebula-fn-${name}:${sha256.slice(0, 12)}`;
    const context = pack();
    context.entry({ name: 'Dockerfile' }, 'FROM scratch\nCOPY fn /fn\nENTRYPOINT ["/fn"]\n');
    context.entry({ name: 'fn', mode: 0o755 }, binary);
    context.finalize();
    const output = await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true });
    await this.#follow(output, `building image ${tag}`);
    return tag;
  }

  /** Loads a `docker save` archive and tags it nebula-fn-<name>:<sha12>; 422 if it is not one. */
  async loadArchive(name: string, archive: Buffer, sha256: string): Promise<string> {
    const [entry] = await readImageManifest(archive);
    await this.requireAvailable();
    const id = /([0-9a-f]{64})/.exec(entry!.Config)?.[1];
    if (!id) throw invalidArtifact(`image archive manifest.json names no image config digest (Config: ${entry!.Config})`);
    const output = await this.docker.loadImage(Readable.from([archive]));
    await this.#follow(output, 'loading the image archive');
    const tag = sha256.slice(0, 12);
    await this.docker.getImage(`sha256:${id}`).tag({ repo: `nebula-fn-${name}`, tag });
    return `nebula-fn-${name}:${tag}`;
  }

  /** Removes an image nebula tagged (after a delete); failures only warn. */
  removeImage(image: string): void {
    this.docker
      .getImage(image)
      .remove()
      .catch((error: unknown) => this.options.onWarning(`docker: could not remove image ${image}: ${errorText(error)}`));
  }

  #follow(output: NodeJS.ReadableStream, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(output, (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = error?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new HttpError(failed.includes('archive') ? 422 : 500, 'docker-failed', `${what} failed: ${failed}`));
        else resolve();
      });
    });
  }

  /**
   * Kills the containers still running (their invocations then end and schedule removal) and waits
   * for every removal, so a server stopped mid-invocation leaves no container behind.
   */
  async close(): Promise<void> {
    const running = [...this.#running];
    await Promise.all(running.map((c) => c.remove({ force: true }).catch(() => undefined)));
    await Promise.all([...this.#removals]);
  }
}
