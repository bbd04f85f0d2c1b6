/**
 * The runtime registry: one line per runtime named in src/protocol (RUNTIMES); the Record type makes
 * the compiler refuse a missing or unknown one. Adding a runtime = its folder under
 * src/server/runtimes/<name>/ and one line here (docs/runtimes.md).
 */
import type { Runtime as RuntimeName } from '../../protocol/api.js';
import type { HostContext, Runtime } from '../host/runtime.js';
import { ComponentRuntime } from './component/runtime.js';
import { DockerRuntime, type DockerSettings } from './docker/runtime.js';
import { NativeRuntime } from './native/runtime.js';
import { WasmRuntime } from './wasm/runtime.js';

export type Registry = Readonly<Record<RuntimeName, Runtime>>;

/** Runtime-specific settings from `nebula serve`'s flags. */
export interface RuntimeSettings {
  docker: DockerSettings;
}

/** Builds every runtime (nothing started yet: see `startRuntimes`). */
export function createRuntimes(host: HostContext, settings: RuntimeSettings): Registry {
  return {
    wasm: new WasmRuntime(host),
    component: new ComponentRuntime(host),
    docker: new DockerRuntime(host, settings.docker),
    native: new NativeRuntime(host),
  };
}

/** The registry as a list, in RUNTIMES order. */
export function runtimeList(registry: Registry): Runtime[] {
  return Object.values(registry);
}

/** The runtime that takes uploads of artifact `kind` (the PUT path segment), if any. */
export function runtimeForArtifact(registry: Registry, kind: string): Runtime | undefined {
  return runtimeList(registry).find((r) => r.artifact === kind);
}
