/**
 * The persistent function store (`--store DIR`). One folder per function holding the files its
 * runtimes keep (`module.wasm`, `native`, …) and `meta.json` (each runtime's artifact record under the
 * runtime's name). Every write is a temp file + rename, so a crash never leaves a half-written
 * artifact. What an artifact is and how it loads is the runtime's business (accept/load/forget).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTION_NAME, type FunctionInfo } from '../protocol/api.js';
import type { ArtifactMeta, FunctionMeta, Runtime, Staged, StoredFunction, Upload } from './host/runtime.js';
import { HttpError, notFound } from './http-error.js';

/** Throws 400 unless `name` matches FUNCTION_NAME (which also rules out path traversal). */
export function checkName(name: string): string {
  if (!FUNCTION_NAME.test(name)) {
    throw new HttpError(
      400,
      'bad-name',
      `function name ${JSON.stringify(name.slice(0, 80))} is invalid: use 1-63 of a-z, 0-9 and "-", starting with a letter or digit`,
    );
  }
  return name;
}

const same = (a: ArtifactMeta | undefined, b: ArtifactMeta | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export class FunctionStore {
  readonly dir: string;
  /** Sources before the runtimes that derive from them, so a derived artifact is checked against its loaded source. */
  readonly #runtimes: readonly Runtime[];
  readonly #functions = new Map<string, StoredFunction>();
  /** Per-name write chains: two deploys of one name never interleave their renames. */
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(dir: string, runtimes: readonly Runtime[]) {
    this.dir = dir;
    this.#runtimes = [...runtimes.filter((r) => !r.derivesFrom), ...runtimes.filter((r) => r.derivesFrom)];
  }

  /** Opens (creating) the store and loads every stored artifact through its runtime; returns warnings for broken entries. */
  static async open(dir: string, runtimes: readonly Runtime[]): Promise<{ store: FunctionStore; warnings: string[] }> {
    const store = new FunctionStore(dir, runtimes);
    const warnings: string[] = [];
    // Whatever .tmp holds is a write or delete a crash interrupted: never part of the store.
    await rm(join(dir, '.tmp'), { recursive: true, force: true });
    await mkdir(join(dir, '.tmp'), { recursive: true });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !FUNCTION_NAME.test(entry.name)) continue;
      try {
        warnings.push(...(await store.#load(entry.name)));
      } catch (error) {
        warnings.push(`store: skipping ${entry.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return { store, warnings };
  }

  /**
   * Loads one function. An artifact and its meta.json are replaced by two renames, so a crash between
   * them leaves a new artifact beside the old meta: runtimes take the hashes from the files
   * themselves, and an artifact derived from a replaced source is dropped as stale. Returns what was
   * corrected.
   */
  async #load(name: string): Promise<string[]> {
    const warnings: string[] = [];
    const meta = JSON.parse(await readFile(join(this.dir, name, 'meta.json'), 'utf8')) as FunctionMeta;
    const fn: StoredFunction = { name, dir: join(this.dir, name), meta };
    const next: FunctionMeta = { ...meta };
    const loaded: Runtime[] = [];
    try {
      for (const runtime of this.#runtimes) {
        const held = meta[runtime.name];
        if (!held) continue;
        const result = await runtime.load(fn, held);
        loaded.push(runtime);
        next[runtime.name] = result.meta;
        if (result.warning) warnings.push(`store: ${name}: ${result.warning}`);
      }
    } catch (error) {
      for (const runtime of loaded) runtime.forget(name, next[runtime.name]!);
      throw error;
    }
    for (const [runtime, stale] of this.#dropStale(next)) {
      warnings.push(
        `store: ${name}: its ${runtime.name} artifact was built from an older ${runtime.derivesFrom} artifact (interrupted deploy) and is dropped; deploy the ${runtime.derivesFrom} artifact again to rebuild it`,
      );
      runtime.forget(name, stale);
    }
    if (warnings.length) await this.#writeMeta(fn, next);
    else this.#functions.set(name, fn);
    return warnings;
  }

  /** Removes from `meta` every derived artifact whose source is gone or was replaced; returns them. */
  #dropStale(meta: FunctionMeta): Array<[Runtime, ArtifactMeta]> {
    const dropped: Array<[Runtime, ArtifactMeta]> = [];
    for (const runtime of this.#runtimes) {
      const held = meta[runtime.name];
      if (!runtime.derivesFrom || held?.source !== runtime.derivesFrom) continue;
      if (meta[runtime.derivesFrom]?.sha256 === held.sha256) continue;
      delete meta[runtime.name];
      dropped.push([runtime, held]);
    }
    return dropped;
  }

  get(name: string): StoredFunction | undefined {
    return this.#functions.get(name);
  }

  /** The function or a 404 naming it. */
  require(name: string): StoredFunction {
    const fn = this.#functions.get(checkName(name));
    if (!fn) throw notFound(`function "${name}" is not deployed; deploy it with \`nebula deploy\` (PUT /functions/${name}/wasm)`);
    return fn;
  }

  list(): FunctionInfo[] {
    return [...this.#functions.values()].sort((a, b) => a.name.localeCompare(b.name)).map((fn) => this.#info(fn));
  }

  /** The function as GET /functions shows it: each artifact described by its runtime. */
  #info(fn: StoredFunction): FunctionInfo {
    const artifacts: Record<string, unknown> = {};
    for (const runtime of this.#runtimes) {
      const held = fn.meta[runtime.name];
      if (held) artifacts[runtime.name] = runtime.describe(held);
    }
    return { name: fn.name, artifacts: artifacts as FunctionInfo['artifacts'] };
  }

  all(): StoredFunction[] {
    return [...this.#functions.values()];
  }

  /**
   * Deploys an upload of `runtime`'s artifact: the runtime validates it (and runtimes deriving from it
   * build theirs) before anything is replaced; then files, meta.json, the runtimes' in-memory state,
   * and what the old artifacts held is forgotten.
   */
  put(name: string, runtime: Runtime, upload: Upload): Promise<FunctionInfo> {
    return this.#locked(name, async () => {
      const accepted = runtime.acceptUpload ? await runtime.acceptUpload(name, upload) : await runtime.accept(name, await upload.read());
      const staged: Array<[Runtime, Staged<ArtifactMeta>]> = [[runtime, accepted]];
      const source = staged[0]![1].meta;
      for (const other of this.#runtimes) {
        if (other.derivesFrom !== runtime.artifact || !other.derive) continue;
        const derived = await other.derive(name, upload, source);
        if (derived) staged.push([other, derived]);
      }
      const fn = await this.#ensure(name);
      for (const [, s] of staged) {
        for (const file of s.files ?? []) {
          const path = join(fn.dir, file.name);
          if ('upload' in file) await this.#moveInto(path, file.upload, file.mode);
          else await this.#writeAtomic(path, file.bytes, file.mode);
        }
      }
      const before = fn.meta;
      const next: FunctionMeta = { ...before };
      for (const [r, s] of staged) next[r.name] = s.meta;
      this.#dropStale(next);
      await this.#writeMeta(fn, next);
      for (const [, s] of staged) s.commit?.(fn);
      for (const r of this.#runtimes) {
        const old = before[r.name];
        if (old && !same(old, next[r.name])) r.forget(name, old);
      }
      return this.#info(fn);
    });
  }

  /** Removes the function and its files, and has every runtime forget what it held for it. */
  delete(name: string): Promise<StoredFunction> {
    return this.#locked(name, async () => {
      const fn = this.require(name);
      // Rename first so a crash mid-delete never leaves a half-deleted function that loads; forget
      // it only once that worked, so a failed delete leaves it listed and invocable as it is on disk.
      const trash = join(this.dir, '.tmp', `deleted-${name}-${randomBytes(4).toString('hex')}`);
      await rename(join(this.dir, name), trash);
      this.#functions.delete(name);
      await rm(trash, { recursive: true, force: true });
      for (const runtime of this.#runtimes) {
        const held = fn.meta[runtime.name];
        if (held) runtime.forget(name, held);
      }
      return fn;
    });
  }

  /** The stored function, or a new one that joins the store only once its meta.json is written. */
  async #ensure(name: string): Promise<StoredFunction> {
    const fn = this.#functions.get(name);
    if (fn) return fn;
    await mkdir(join(this.dir, name), { recursive: true });
    return { name, dir: join(this.dir, name), meta: {} };
  }

  async #writeMeta(fn: StoredFunction, meta: FunctionMeta): Promise<void> {
    await this.#writeAtomic(join(this.dir, fn.name, 'meta.json'), Buffer.from(JSON.stringify(meta, null, 2) + '\n'));
    fn.meta = meta;
    this.#functions.set(fn.name, fn);
  }

  /** Where an upload is received: the store's `.tmp`, on the store's filesystem (see #moveInto). */
  uploadPath(): string {
    return join(this.dir, '.tmp', `upload-${randomBytes(8).toString('hex')}.part`);
  }

  /** Moves a received upload (already flushed to disk) into place: one rename, atomic like #writeAtomic. */
  async #moveInto(path: string, upload: Upload, mode = 0o644): Promise<void> {
    await chmod(upload.path, mode);
    await rename(upload.path, path);
  }

  async #writeAtomic(path: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
    const tmp = join(this.dir, '.tmp', `${randomBytes(8).toString('hex')}.part`);
    try {
      await writeFile(tmp, bytes, { mode, flush: true });
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  #locked<T>(name: string, body: () => Promise<T>): Promise<T> {
    checkName(name);
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const next = previous.then(body, body);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(name, settled);
    void settled.then(() => {
      if (this.#locks.get(name) === settled) this.#locks.delete(name);
    });
    return next;
  }
}
