/**
 * The `docker` runtime: one container per call via dockerode — create → attach (hijacked stream,
 * input written before start) → start → wait — and removal in the background, off the reply's path
 * but always (also after a timeout, which kills first). Containers get `NetworkMode: none`, memory and
 * pids limits and the label `nebula.function=<name>`.
 *
 * Stamps: ready = container created and attached, just before the start request (the start API
 * returns only once the process runs, so its return cannot be "ready"); host start estimate = the
 * start request returned; ended = the wait returned or the output stream ended, whichever came first.
 *
 * In `prewarmed` mode the next call's container is created, attached and started ahead, its function
 * blocked reading stdin; the call writes its input. It is a fresh container used once
 * (docs/runtimes.md, "Start modes").
 */
import { Readable, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { sha256 } from '../../host/digest.js';
import { RuntimeError, cancelled, invalidArtifact, memoryCapReached, notDeployed } from '../../host/errors.js';
import { Limiter } from '../../host/limiter.js';
import { OutputBuffer } from '../../host/output-buffer.js';
import { PreparedSet, type PreparedInstance } from '../../host/prepared.js';
import type { ArtifactMeta, HostContext, Invocation, Limits, Loaded, RawRun, Runtime, RuntimeHealth, Staged, StoredFunction, Upload } from '../../host/runtime.js';
import { readImageManifest, retagArchive } from './archive.js';

export const FUNCTION_LABEL = 'nebula.function';

/** `source: "native"`: built by the server around the native upload; "archive": uploaded as an image. */
export interface DockerMeta extends ArtifactMeta {
  image: string;
}

export interface DockerSettings {
  /** false: no docker runtime in this server (no engine probing); it reports itself disabled. */
  enabled: boolean;
  /** Engine socket; without it dockerode follows DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string | undefined;
  /** Processes per container (PidsLimit). */
  pidsLimit: number;
  /** Containers at once (--max-containers). */
  containers: number;
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

/** A container created and attached, not started (`#create`): a cold call's first steps, or a prepared one. */
interface Created extends PreparedInstance {
  container: Docker.Container;
  /** Started ahead (a prepared one): its function runs, blocked reading stdin until the input comes. */
  started: boolean;
  stream: NodeJS.ReadWriteStream;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
  /** The attach stream ended (the container's output is complete). */
  streamEnded: Promise<void>;
  /** When it ended, µs (0 before). */
  streamEndedUs: () => number;
}

const DISABLED = 'docker is disabled in this server';
/** How often removing an image that a container still uses is retried. */
const IMAGE_RETRY_MS = 250;

export class DockerRuntime implements Runtime<DockerMeta> {
  readonly name = 'docker';
  readonly artifact = 'docker';
  readonly derivesFrom = 'native';
  readonly slots: number;
  readonly docker: Docker;
  readonly #host: HostContext;
  readonly #settings: DockerSettings;
  readonly #limiter: Limiter;
  #available = false;
  #reason = 'not checked yet';
  readonly #where: string;
  readonly #removals = new Set<Promise<void>>();
  /** Containers between create and removal-scheduled: killed on close() so none outlives the server. */
  readonly #running = new Set<Docker.Container>();
  /** Containers created and attached ahead for `prewarmed` calls, one per function, each holding a container slot. */
  readonly #prepared: PreparedSet<Created>;

  constructor(host: HostContext, settings: DockerSettings) {
    this.#host = host;
    this.#settings = settings;
    this.slots = settings.containers;
    // No queue of its own: admission (app.ts) queues calls before they get here.
    this.#limiter = new Limiter(settings.containers, 0, 'container');
    this.#prepared = new PreparedSet(this.#limiter);
    this.docker = settings.socketPath ? new Docker({ socketPath: settings.socketPath }) : new Docker();
    this.#where = settings.socketPath ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    if (!settings.enabled) this.#reason = DISABLED;
  }

  async start(): Promise<void> {
    if (this.#settings.enabled) await this.check();
  }

  health(): RuntimeHealth {
    if (this.#available) return { available: true };
    if (this.#settings.enabled) void this.check(); // the next /healthz reflects a started engine
    return { available: false, reason: this.#reason };
  }

  backgroundWork(): number {
    return this.#removals.size + this.#prepared.busy;
  }

  /** Pings the engine (2 s budget) and records whether it answers. */
  async check(): Promise<boolean> {
    if (!this.#settings.enabled) return false;
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
    if (!this.#settings.enabled) throw new RuntimeError('unavailable', DISABLED, 'docker-unavailable');
    throw new RuntimeError(
      'unavailable',
      `the docker runtime is unavailable (${this.#reason}); start the Docker engine (e.g. dockerd) or run nebula serve with --docker-socket PATH`,
      'docker-unavailable',
    );
  }

  /** Loads an uploaded `docker save` archive (validated first, also when the engine is down). */
  async accept(name: string, bytes: Buffer): Promise<Staged<DockerMeta>> {
    return this.#acceptArchive(name, sha256(bytes), () => Readable.from([bytes]));
  }

  /** `accept` streaming the received file to the engine. */
  async acceptUpload(name: string, upload: Upload): Promise<Staged<DockerMeta>> {
    return this.#acceptArchive(name, upload.sha256, () => upload.stream());
  }

  async #acceptArchive(name: string, hash: string, open: () => NodeJS.ReadableStream): Promise<Staged<DockerMeta>> {
    if (!this.#settings.enabled) throw new RuntimeError('unavailable', DISABLED, 'docker-unavailable');
    const image = await this.#loadArchive(name, open, hash);
    return { meta: { image, source: 'archive', sha256: hash } };
  }

  /** Builds a `FROM scratch` image around a native upload, when an engine answers. */
  async derive(name: string, upload: Upload, source: ArtifactMeta): Promise<Staged<DockerMeta> | undefined> {
    if (!this.#available && !(await this.check())) return undefined;
    const image = await this.#buildFromNative(name, upload, source.sha256);
    return { meta: { image, source: 'native', sha256: source.sha256 } };
  }

  async load(_fn: unknown, meta: DockerMeta): Promise<Loaded<DockerMeta>> {
    return { meta };
  }

  /** Removes an image nebula tagged (after a redeploy or delete); failures only warn. */
  forget(name: string, meta: DockerMeta): void {
    // The prepared container goes first: the image cannot be removed while a container uses it.
    this.#prepared.forget(name);
    if (this.#settings.enabled) this.#removeImage(meta.image);
  }

  describe(meta: DockerMeta): Record<string, unknown> {
    return { image: meta.image };
  }

  async invoke(call: Invocation): Promise<RawRun> {
    await this.requireAvailable();
    const { fn } = call;
    const meta = fn.meta.docker as DockerMeta | undefined;
    if (!meta) {
      throw notDeployed(
        `function "${fn.name}" has no docker image; deploy a native executable (PUT /functions/${fn.name}/native) or an image archive (PUT /functions/${fn.name}/docker)`,
      );
    }
    const prewarmed = call.mode === 'prewarmed';
    const taken = prewarmed ? this.#prepared.take(fn.name, meta.image) : undefined;
    try {
      if (taken) {
        try {
          return await this.#run(fn.name, meta.image, call.input, call.limits, call.signal, taken.instance);
        } finally {
          taken.release();
        }
      }
      await this.#prepared.makeRoom();
      const release = await this.#limiter.acquire(call.signal);
      try {
        return await this.#run(fn.name, meta.image, call.input, call.limits, call.signal);
      } finally {
        release();
      }
    } finally {
      // The next prewarmed call's container is created now, off this call's path.
      if (prewarmed) void this.prepare(fn);
    }
  }

  /** Creates, attaches and starts a container of `fn` ahead of a `prewarmed` call (blocked on stdin), holding a container slot. */
  prepare(fn: StoredFunction): Promise<boolean> {
    const meta = fn.meta.docker as DockerMeta | undefined;
    if (!meta || !this.#available) return Promise.resolve(false);
    return this.#prepared.prepare(
      fn.name,
      meta.image,
      () => this.#create(fn.name, meta.image, this.#host.limits, true),
      (error) => this.#host.warn(`docker: preparing a container of ${fn.name} failed: ${errorText(error)}`),
    );
  }

  /**
   * Creates a container and attaches to it (the output is collected from then on); a cold call does
   * this on its path and then starts it. `startAhead` (a prepared one) also starts it: its function
   * then blocks reading stdin until a call writes the input (docs/runtimes.md, "Start modes": a
   * container created and attached but not started saved only ~12 % of a cold start-up here, the
   * engine's start being most of it).
   */
  async #create(name: string, image: string, limits: Limits, startAhead = false): Promise<Created> {
    const { clock } = this.#host;
    const { maxOutputBytes, maxMemoryMb } = limits;
    const container = await this.docker.createContainer({
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
        PidsLimit: this.#settings.pidsLimit,
      },
    });
    this.#running.add(container);
    let stream: NodeJS.ReadWriteStream;
    try {
      stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    } catch (error) {
      this.#running.delete(container);
      void this.#removeLater(container);
      throw error;
    }
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
    const discard = (): Promise<void> => {
      (stream as unknown as Duplex).destroy();
      this.#running.delete(container);
      return this.#removeLater(container);
    };
    if (startAhead) {
      try {
        await container.start();
      } catch (error) {
        await discard();
        throw error;
      }
    }
    return {
      container,
      started: startAhead,
      stream,
      stdout,
      stderr,
      streamEnded,
      streamEndedUs: () => streamEndedUs,
      discard,
    };
  }

  /**
   * One container run. When `signal` fires (the client went away) the container is killed wherever
   * the run is — before start it is never started — and removed like any other.
   */
  async #run(name: string, image: string, input: Buffer, limits: Limits, signal: AbortSignal | undefined, prepared?: Created): Promise<RawRun> {
    const { clock } = this.#host;
    const { timeoutMs, maxMemoryMb } = limits;
    let container: Docker.Container | undefined = prepared?.container;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let abandoned = false;
    const onAbort = (): void => {
      abandoned = true;
      container?.kill().catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw cancelled('docker');
      const created = prepared ?? (await this.#create(name, image, limits));
      container = created.container;
      const { stream, stdout, stderr, streamEnded } = created;
      // A prepared container already runs, its function blocked reading stdin: ready is now.
      let readyUs = created.started ? clock.nowUs() : 0;
      // Input goes in before start: the engine buffers it in the container's stdin pipe, and the
      // half-close (StdinOnce) gives the function EOF after its line.
      stream.end(input);
      const started = container;
      timer = setTimeout(() => {
        timedOut = true;
        started.kill().catch(() => undefined);
      }, timeoutMs);
      if (abandoned) throw cancelled('docker');
      if (!created.started) {
        readyUs = clock.nowUs();
        await container.start();
      }
      const hostStartUs = clock.nowUs();
      // Aborted while the start request was in flight: the kill above may have found it not running yet.
      if (abandoned) await container.kill().catch(() => undefined);
      const waited = (await container.wait()) as { StatusCode: number };
      const waitedUs = clock.nowUs();
      await streamEnded;
      if (abandoned) throw cancelled('docker');
      if (timedOut) {
        throw new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and its container was killed (--timeout-ms)`);
      }
      const exitCode = waited.StatusCode;
      const run: RawRun = {
        readyUs,
        hostStartUs,
        endedUs: created.streamEndedUs() ? Math.min(created.streamEndedUs(), waitedUs) : waitedUs,
        exitCode,
        stdout: stdout.concat(),
        stderr: stderr.concat(),
      };
      if (exitCode > 128) run.error = `terminated by signal ${exitCode - 128}`;
      // The engine's OOM killer ends a container at Memory with SIGKILL (137); only inspect tells it apart.
      if (exitCode === 137 && (await this.#oomKilled(container))) {
        run.error = memoryCapReached(maxMemoryMb, 'the engine killed the container (OOMKilled, exit 137)');
      }
      if (stdout.dropped + stderr.dropped > 0) run.truncated = true;
      if (prepared) run.prepared = true;
      return run;
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      if (abandoned) throw cancelled('docker');
      if (timedOut) {
        throw new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and its container was killed (--timeout-ms)`);
      }
      const message = errorText(error);
      if (/no such image/i.test(message)) {
        throw notDeployed(`docker image ${image} for "${name}" is missing from the engine; deploy the function again`);
      }
      throw new RuntimeError('failed', `docker run of ${image} failed: ${message}`, 'docker-failed');
    } finally {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      if (container) {
        this.#running.delete(container);
        void this.#removeLater(container);
      }
    }
  }

  /** Whether the engine's OOM killer ended the container (State.OOMKilled); false when it cannot tell. */
  async #oomKilled(container: Docker.Container): Promise<boolean> {
    try {
      const info = await container.inspect();
      return info.State.OOMKilled === true;
    } catch {
      return false;
    }
  }

  /** Removes the container and its anonymous volumes (`v`: an image's VOLUME gets one per container). */
  #removeLater(container: Docker.Container): Promise<void> {
    const removal = container
      .remove({ force: true, v: true })
      .then(
        () => undefined,
        (error: unknown) => {
          const message = errorText(error);
          if (!/no such container|is already in progress/i.test(message)) {
            this.#host.warn(`docker: could not remove container ${container.id}: ${message}`);
          }
        },
      )
      .finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
    return removal;
  }

  /** Builds `FROM scratch` + the binary as /fn, tagged nebula-fn-<name>:<sha12>; the binary is streamed from the upload's file. */
  async #buildFromNative(name: string, binary: Upload, sha256: string): Promise<string> {
    await this.requireAvailable();
    const tag = `nebula-fn-${name}:${sha256.slice(0, 12)}`;
    const context = pack();
    context.entry({ name: 'Dockerfile' }, 'FROM scratch\nCOPY fn /fn\nENTRYPOINT ["/fn"]\n');
    const fn = context.entry({ name: 'fn', mode: 0o755, size: binary.size }, (error) => {
      if (error) context.destroy(error);
      else context.finalize();
    });
    const file = binary.stream();
    file.on('error', (error: Error) => context.destroy(error));
    file.pipe(fn as unknown as NodeJS.WritableStream);
    const output = await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true });
    await this.#follow(output, `building image ${tag}`);
    return tag;
  }

  /**
   * Loads a `docker save` archive as nebula-fn-<name>:<sha12>, the only name it gets: the names the
   * archive claims are replaced on the way in (retagArchive), then the tag is checked to hold the
   * archive's image. 422 if it is not an image archive.
   */
  async #loadArchive(name: string, archive: () => NodeJS.ReadableStream, sha256: string): Promise<string> {
    const [entry] = await readImageManifest(archive());
    await this.requireAvailable();
    const id = /([0-9a-f]{64})/.exec(entry!.Config)?.[1];
    if (!id) throw invalidArtifact(`image archive manifest.json names no image config digest (Config: ${entry!.Config})`);
    const image = `nebula-fn-${name}:${sha256.slice(0, 12)}`;
    const output = await this.docker.loadImage(retagArchive(archive(), image));
    await this.#follow(output, 'loading the image archive');
    const loaded = await this.docker
      .getImage(image)
      .inspect()
      .then((info) => info.Id)
      .catch(() => undefined);
    if (loaded !== `sha256:${id}`) {
      throw new RuntimeError('failed', `loading the image archive did not create ${image} from its image sha256:${id} (found ${loaded ?? 'nothing'})`, 'docker-failed');
    }
    return image;
  }

  /**
   * Removes an image once no container uses it: containers of earlier calls are still being removed
   * in the background, and a call may still run on the old image (the engine refuses with a
   * conflict until it is gone). Counted in backgroundWork; failures only warn.
   */
  #removeImage(image: string): void {
    const pending = [...this.#removals];
    const removal = (async () => {
      await Promise.all(pending);
      const deadline = this.#host.limits.timeoutMs + 10_000;
      for (let waited = 0; ; waited += IMAGE_RETRY_MS) {
        try {
          await this.docker.getImage(image).remove();
          return;
        } catch (error) {
          const message = errorText(error);
          if (/no such image/i.test(message)) return;
          if (!/conflict|being used|in use/i.test(message) || waited >= deadline) {
            this.#host.warn(`docker: could not remove image ${image}: ${message}`);
            return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, IMAGE_RETRY_MS));
      }
    })().finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
  }

  #follow(output: NodeJS.ReadableStream, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(output, (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = error?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new RuntimeError(failed.includes('archive') ? 'invalid-artifact' : 'failed', `${what} failed: ${failed}`, 'docker-failed'));
        else resolve();
      });
    });
  }

  /**
   * Kills the containers still running (their invocations then end and schedule removal) and waits
   * for every removal, so a server stopped mid-invocation leaves no container behind.
   */
  async close(): Promise<void> {
    await this.#prepared.close();
    const running = [...this.#running];
    await Promise.all(running.map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
    await Promise.all([...this.#removals]);
  }
}
