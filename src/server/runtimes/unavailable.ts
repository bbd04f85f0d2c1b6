/**
 * A runtime the protocol names but this server cannot run yet: /healthz says why, uploads and
 * invocations fail as `unavailable`, and artifacts already in the store are kept as they are.
 */
import { RuntimeError } from '../host/errors.js';
import type { ArtifactMeta, Loaded, Runtime } from '../host/runtime.js';
import type { Runtime as RuntimeName } from '../../protocol/api.js';

export function unavailableRuntime(name: RuntimeName, reason: string): Runtime {
  const fail = (): Promise<never> => Promise.reject(new RuntimeError('unavailable', `the ${name} runtime is unavailable: ${reason}`));
  return {
    name,
    artifact: name,
    slots: 1,
    health: () => ({ available: false, reason }),
    accept: fail,
    load: (_fn, meta): Promise<Loaded<ArtifactMeta>> => Promise.resolve({ meta }),
    forget: () => undefined,
    describe: (meta) => ({ ...meta }),
    invoke: fail,
    close: () => Promise.resolve(),
  };
}
