/**
 * The `native` runtime: the uploaded static executable, spawned per call with the input on stdin.
 * Every call is started by the spawner, a small long-lived process of the server's own (./spawner.ts
 * says why the server does not fork itself), through the launcher that caps its memory
 * (./launcher.ts), in its own process group and process tree (./launch.ts: what is killed when, and
 * the timestamps).
 *
 * In `prewarmed` mode the next call's process is spawned ahead and blocks in its read of stdin; the
 * call hands it the input (ready = then). It is a fresh process used once (docs/runtimes.md, "Start modes").
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../../host/digest.js';
import { RuntimeError, notDeployed } from '../../host/errors.js';
import { Limiter } from '../../host/limiter.js';
import { PreparedSet } from '../../host/prepared.js';
import type { ArtifactMeta, HostContext, Invocation, Loaded, RawRun, Runtime, RuntimeHealth, Staged, StoredFunction, Upload } from '../../host/runtime.js';
import type { ClockAnchor } from '../../../clock.js';
import { checkElfHeader, ELF_HEADER_BYTES, ELF_MACHINE, validateElf, validateElfFile } from './elf.js';
import { findCapMeans, type CapMeans } from './launcher.js';
import { Spawner, type Launched } from './spawner.js';

export interface NativeMeta extends ArtifactMeta {
  arch: string;
}

const FILE = 'native';
export class NativeRuntime implements Runtime<NativeMeta> {
  readonly name = 'native';
  readonly artifact = 'native';
  readonly slots: number;
  readonly #host: HostContext;
  readonly #limiter: Limiter;
  /** Processes spawned ahead for `prewarmed` calls, one per function, each holding a process slot. */
  readonly #prepared: PreparedSet<Launched>;
  #closed = false;
  /** How calls get their memory cap here (found at start()). */
  #cap: CapMeans = { kind: 'none', reason: 'not started' };
  /** Starts every call (created at start(), once the cap is known). */
  #spawner: Spawner | undefined;

  constructor(host: HostContext) {
    this.#host = host;
    this.slots = host.processSlots;
    // No queue of its own: admission (app.ts) queues calls before they get here.
    this.#limiter = new Limiter(host.processSlots, 0, 'native process');
    this.#prepared = new PreparedSet(this.#limiter);
  }

  /** Finds (or compiles) the launcher that applies the memory cap; without one, says what is missing. */
  async start(): Promise<void> {
    this.#cap = await findCapMeans();
    if (this.#cap.kind === 'none') {
      this.#host.warn(`native: calls run without a memory cap: ${this.#cap.reason}; install a C compiler (cc) or util-linux (prlimit)`);
    }
    this.#spawner = new Spawner({ cgroups: this.#host.cgroups, cap: this.#cap, anchor: this.#host.anchor });
    await this.#spawner.start();
  }

  backgroundWork(): number {
    return (this.#spawner?.backgroundWork ?? 0) + this.#prepared.busy;
  }

  /**
   * How escaped processes are found (`cgroup` or `scan`), whether a cgroup caps their memory, and what
   * applies the RLIMIT_AS cap (`launcher`, `prlimit`, or `none`).
   */
  containment(): { mode: 'cgroup' | 'scan'; memoryCap: boolean; rlimit: CapMeans['kind'] } {
    const { mode, memoryCap } = this.#spawner?.containment ?? { mode: 'scan', memoryCap: false };
    return { mode, memoryCap, rlimit: this.#cap.kind };
  }

  health(): RuntimeHealth {
    if (this.#host.arch in ELF_MACHINE) return { available: true };
    return { available: false, reason: `native executables are not supported on ${this.#host.arch}` };
  }

  #requireSupported(): void {
    const health = this.health();
    if (!health.available) throw new RuntimeError('unavailable', health.reason ?? 'native is unavailable');
  }

  uploadHead(): { bytes: number; check: (head: Buffer) => void } | undefined {
    if (!this.health().available) return undefined;
    return { bytes: ELF_HEADER_BYTES, check: (head) => checkElfHeader(head, this.#host.arch) };
  }

  async accept(_name: string, bytes: Buffer): Promise<Staged<NativeMeta>> {
    this.#requireSupported();
    validateElf(bytes, this.#host.arch);
    return { meta: { sha256: sha256(bytes), arch: this.#host.arch }, files: [{ name: FILE, bytes, mode: 0o755 }] };
  }

  /** `accept` from the received file: only the ELF headers are read, the file is moved into place. */
  async acceptUpload(_name: string, upload: Upload): Promise<Staged<NativeMeta>> {
    this.#requireSupported();
    await validateElfFile(upload.path, upload.size, this.#host.arch);
    return { meta: { sha256: upload.sha256, arch: this.#host.arch }, files: [{ name: FILE, upload, mode: 0o755 }] };
  }

  async load(fn: StoredFunction, meta: NativeMeta): Promise<Loaded<NativeMeta>> {
    const hash = sha256(await readFile(join(fn.dir, FILE)));
    if (hash === meta.sha256) return { meta };
    return { meta: { ...meta, sha256: hash }, warning: 'the native binary was newer than its meta.json (interrupted deploy); using the file' };
  }

  /** The binary was replaced or deleted: a process prepared from it is discarded. */
  forget(name: string): void {
    this.#prepared.forget(name);
  }

  setAnchor(anchor: ClockAnchor): void {
    this.#spawner?.setAnchor(anchor);
  }

  describe(meta: NativeMeta): Record<string, unknown> {
    return { sha256: meta.sha256, arch: meta.arch };
  }

  async invoke(call: Invocation): Promise<RawRun> {
    const { fn } = call;
    const meta = fn.meta.native as NativeMeta | undefined;
    if (!meta) {
      throw notDeployed(`function "${fn.name}" has no native artifact; deploy one with PUT /functions/${fn.name}/native`);
    }
    if (this.#closed) throw new RuntimeError('shutting-down', 'the server is shutting down');
    const prewarmed = call.mode === 'prewarmed';
    // A prepared process that died while it waited (killed from outside) is discarded, not used.
    const taken = prewarmed ? this.#prepared.take(fn.name, meta.sha256, (p) => p.waiting) : undefined;
    try {
      if (taken) {
        try {
          return await taken.instance.go(call.input, call.signal);
        } finally {
          taken.release();
        }
      }
      await this.#prepared.makeRoom();
      const release = await this.#limiter.acquire(call.signal);
      try {
        return await this.#started().run(join(fn.dir, FILE), call.limits, call.input, call.signal);
      } finally {
        release();
      }
    } finally {
      // The next prewarmed call's process is spawned now, off this call's path.
      if (prewarmed) void this.prepare(fn);
    }
  }

  /** Spawns a process of `fn` that waits for its input on stdin (`prewarmed` mode), holding a process slot. */
  prepare(fn: StoredFunction): Promise<boolean> {
    const meta = fn.meta.native as NativeMeta | undefined;
    if (!meta || this.#closed || !this.health().available) return Promise.resolve(false);
    const path = join(fn.dir, FILE);
    return this.#prepared.prepare(
      fn.name,
      meta.sha256,
      () => this.#started().prepare(path, this.#host.limits),
      (error) => this.#host.warn(`native: preparing a process of ${fn.name} failed: ${String(error)}`),
    );
  }

  #started(): Spawner {
    if (!this.#spawner) throw new RuntimeError('unavailable', 'the native runtime was not started');
    return this.#spawner;
  }

  /**
   * Kills every call still running and cuts its pipes (their invocations then answer at once), then
   * every process any call of this runtime left anywhere: shutdown waits on no guest.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#prepared.close(), this.#spawner?.close()]);
  }
}
