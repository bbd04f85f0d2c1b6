/**
 * The `component` runtime: WASI 0.2 components, transpiled once at deploy by jco with their core
 * modules capped and compiled (src/server/runtimes/component/artifact.ts); each call instantiates a
 * fresh component in the worker pool and runs `wasi:cli/run` with in-memory stdio. ready is stamped
 * right before `run`, after the instantiation (which the glue does in JS: it is part of start-up,
 * like a module's instantiation in `wasm`). docs/runtimes.md, "component".
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../../host/digest.js';
import { PooledRuntime } from '../../host/pooled-runtime.js';
import type { ArtifactMeta, HostContext, Invocation, Loaded, RawRun, Runtime, Staged, StoredFunction } from '../../host/runtime.js';
import { workerScript } from '../../host/worker-pool.js';
import { checkComponentHeader, compileCores, GLUE_FILE, transpileComponent, type CoreModules, type Transpiled } from './artifact.js';

export interface ComponentMeta extends ArtifactMeta {
  bytes: number;
  /** The core modules' file names, as the glue asks for them. */
  cores: string[];
}

/** What a worker gets: the glue to import and the compiled core modules. */
export interface ComponentArtifact {
  /** file: URL of the stored glue, with the sha256 as query so a redeploy imports the new glue. */
  glueUrl: string;
  modules: CoreModules;
}

/** The uploaded component itself, kept so the store can be re-transpiled (e.g. after a jco upgrade). */
const FILE = 'component.wasm';

export class ComponentRuntime extends PooledRuntime<ComponentArtifact, ComponentMeta> implements Runtime<ComponentMeta> {
  readonly name = 'component';
  readonly artifact = 'component';

  constructor(host: HostContext) {
    super(host, workerScript(import.meta.url, 'worker'), 'component');
  }

  uploadHead(): { bytes: number; check: (head: Buffer) => void } {
    return { bytes: 8, check: checkComponentHeader };
  }

  async accept(name: string, bytes: Buffer): Promise<Staged<ComponentMeta>> {
    const transpiled = await transpileComponent(bytes);
    const modules = await compileCores(transpiled.cores, this.host.limits.maxMemoryMb);
    const hash = sha256(bytes);
    return {
      meta: { sha256: hash, bytes: bytes.length, cores: transpiled.cores.map((c) => c.name) },
      files: [{ name: FILE, bytes }, { name: GLUE_FILE, bytes: transpiled.glue }, ...transpiled.cores.map((c) => ({ name: c.name, bytes: c.bytes }))],
      commit: (fn) => this.#hold(name, join(fn.dir, GLUE_FILE), hash, modules),
    };
  }

  async load(fn: StoredFunction, meta: ComponentMeta): Promise<Loaded<ComponentMeta>> {
    const bytes = await readFile(join(fn.dir, FILE));
    const hash = sha256(bytes);
    if (hash !== meta.sha256) {
      // The component is newer than its meta.json (interrupted deploy): its glue and cores may be
      // the old ones, so transpile it again rather than trust them.
      const transpiled = await transpileComponent(bytes);
      const fresh = { sha256: hash, bytes: bytes.length, cores: transpiled.cores.map((c) => c.name) };
      await this.#rewrite(fn.dir, transpiled);
      this.#hold(fn.name, join(fn.dir, GLUE_FILE), hash, await compileCores(transpiled.cores, this.host.limits.maxMemoryMb));
      return { meta: fresh, warning: `${FILE} was newer than its meta.json (interrupted deploy); transpiled it again` };
    }
    const cores = await Promise.all(meta.cores.map(async (name) => ({ name, bytes: await readFile(join(fn.dir, name)) })));
    this.#hold(fn.name, join(fn.dir, GLUE_FILE), hash, await compileCores(cores, this.host.limits.maxMemoryMb));
    return { meta };
  }

  describe(meta: ComponentMeta): Record<string, unknown> {
    return { sha256: meta.sha256, bytes: meta.bytes };
  }

  invoke(call: Invocation): Promise<RawRun> {
    return this.runHeld(call, `PUT /functions/${call.fn.name}/component`);
  }

  /** Writes a re-transpiled glue and cores beside the component (start-up, before any call). */
  async #rewrite(dir: string, transpiled: Transpiled): Promise<void> {
    await writeFile(join(dir, GLUE_FILE), transpiled.glue);
    for (const core of transpiled.cores) await writeFile(join(dir, core.name), core.bytes);
  }

  #hold(name: string, gluePath: string, hash: string, modules: CoreModules): void {
    this.hold(name, hash, { glueUrl: `${pathToFileURL(gluePath).href}?sha256=${hash}`, modules });
  }
}
