/**
 * The persistent function store (`--store DIR`). One folder per function holding the artifacts as
 * uploaded (`module.wasm`, `native`) and `meta.json`. Every write is a temp file + rename, so a crash
 * never leaves a half-written artifact; wasm modules are compiled (and memory-capped) on load.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTION_NAME, type FunctionInfo } from '../protocol/api.js';
import { HttpError, notFound } from './http-error.js';
import { prepareWasm } from './wasm-module.js';

export interface FunctionMeta {
  wasm?: { sha256: string; bytes: number };
  native?: { sha256: string; arch: string };
  /** `source: "native"` images are built from the native binary; "archive" ones were uploaded. */
  docker?: { image: string; source: 'native' | 'archive'; sha256: string };
}

export interface StoredFunction {
  readonly name: string;
  meta: FunctionMeta;
  /** Compiled once, capped to --max-memory-mb; instances are created per invocation. */
  wasmModule?: WebAssembly.Module;
  readonly nativePath: string;
}

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

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class FunctionStore {
  readonly dir: string;
  readonly #maxMemoryMb: number;
  readonly #functions = new Map<string, StoredFunction>();
  /** Per-name write chains: two deploys of one name never interleave their renames. */
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(dir: string, maxMemoryMb: number) {
    this.dir = dir;
    this.#maxMemoryMb = maxMemoryMb;
  }

  /** Opens (creating) the store and compiles every stored module; returns warnings for broken entries. */
  static async open(dir: string, maxMemoryMb: number): Promise<{ store: FunctionStore; warnings: string[] }> {
    const store = new FunctionStore(dir, maxMemoryMb);
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
   * them leaves a new artifact beside the old meta: the hashes are taken from the files themselves,
   * and an image built from a replaced binary is dropped as stale. Returns what was corrected.
   */
  async #load(name: string): Promise<string[]> {
    const warnings: string[] = [];
    const meta = JSON.parse(await readFile(join(this.dir, name, 'meta.json'), 'utf8')) as FunctionMeta;
    const fn: StoredFunction = { name, meta, nativePath: join(this.dir, name, 'native') };
    if (meta.wasm) {
      const bytes = await readFile(join(this.dir, name, 'module.wasm'));
      fn.wasmModule = await prepareWasm(bytes, this.#maxMemoryMb);
      const hash = sha256(bytes);
      if (hash !== meta.wasm.sha256) {
        meta.wasm = { sha256: hash, bytes: bytes.length };
        warnings.push(`store: ${name}: module.wasm was newer than its meta.json (interrupted deploy); using the file`);
      }
    }
    if (meta.native) {
      const hash = sha256(await readFile(fn.nativePath));
      if (hash !== meta.native.sha256) {
        meta.native = { ...meta.native, sha256: hash };
        if (meta.docker?.source === 'native') delete meta.docker;
        warnings.push(`store: ${name}: the native binary was newer than its meta.json (interrupted deploy); using the file${meta.docker ? '' : ', its docker image must be rebuilt: deploy the binary again'}`);
      }
    }
    if (warnings.length) await this.#writeMeta(fn, meta);
    else this.#functions.set(name, fn);
    return warnings;
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
    return [...this.#functions.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((fn) => ({ name: fn.name, artifacts: publicArtifacts(fn.meta) }));
  }

  all(): StoredFunction[] {
    return [...this.#functions.values()];
  }

  /** Validates + compiles the module, then replaces the stored one atomically. */
  putWasm(name: string, bytes: Buffer): Promise<FunctionInfo> {
    return this.#locked(name, async () => {
      const module = await prepareWasm(bytes, this.#maxMemoryMb);
      const fn = await this.#ensure(name);
      await this.#writeAtomic(join(this.dir, name, 'module.wasm'), bytes);
      const meta = { ...fn.meta, wasm: { sha256: sha256(bytes), bytes: bytes.length } };
      await this.#writeMeta(fn, meta);
      fn.wasmModule = module;
      return { name, artifacts: publicArtifacts(fn.meta) };
    });
  }

  /**
   * Stores an already validated native executable and, when given, the image built around it.
   * Without an image, an older image built from a previous binary is dropped (it would be stale).
   */
  putNative(name: string, bytes: Buffer, arch: string, image?: string): Promise<FunctionInfo> {
    return this.#locked(name, async () => {
      const fn = await this.#ensure(name);
      const hash = sha256(bytes);
      await this.#writeAtomic(fn.nativePath, bytes, 0o755);
      const meta: FunctionMeta = { ...fn.meta, native: { sha256: hash, arch } };
      if (image) meta.docker = { image, source: 'native', sha256: hash };
      else if (meta.docker?.source === 'native') delete meta.docker;
      await this.#writeMeta(fn, meta);
      return { name, artifacts: publicArtifacts(fn.meta) };
    });
  }

  /** Records an image (loaded from an uploaded archive, or built later) for `name`. */
  putDockerImage(name: string, docker: NonNullable<FunctionMeta['docker']>): Promise<FunctionInfo> {
    return this.#locked(name, async () => {
      const fn = await this.#ensure(name);
      await this.#writeMeta(fn, { ...fn.meta, docker });
      return { name, artifacts: publicArtifacts(fn.meta) };
    });
  }

  /** Removes the function and its files; returns what it held (so images can be removed too). */
  delete(name: string): Promise<StoredFunction> {
    return this.#locked(name, async () => {
      const fn = this.require(name);
      // Rename first so a crash mid-delete never leaves a half-deleted function that loads; forget
      // it only once that worked, so a failed delete leaves it listed and invocable as it is on disk.
      const trash = join(this.dir, '.tmp', `deleted-${name}-${randomBytes(4).toString('hex')}`);
      await rename(join(this.dir, name), trash);
      this.#functions.delete(name);
      await rm(trash, { recursive: true, force: true });
      return fn;
    });
  }

  /** The stored function, or a new one that joins the store only once its meta.json is written. */
  async #ensure(name: string): Promise<StoredFunction> {
    const fn = this.#functions.get(name);
    if (fn) return fn;
    await mkdir(join(this.dir, name), { recursive: true });
    return { name, meta: {}, nativePath: join(this.dir, name, 'native') };
  }

  async #writeMeta(fn: StoredFunction, meta: FunctionMeta): Promise<void> {
    await this.#writeAtomic(join(this.dir, fn.name, 'meta.json'), Buffer.from(JSON.stringify(meta, null, 2) + '\n'));
    fn.meta = meta;
    this.#functions.set(fn.name, fn);
  }

  async #writeAtomic(path: string, bytes: Buffer, mode = 0o644): Promise<void> {
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

function publicArtifacts(meta: FunctionMeta): FunctionInfo['artifacts'] {
  const artifacts: FunctionInfo['artifacts'] = {};
  if (meta.wasm) artifacts.wasm = meta.wasm;
  if (meta.native) artifacts.native = meta.native;
  if (meta.docker) artifacts.docker = { image: meta.docker.image };
  return artifacts;
}
