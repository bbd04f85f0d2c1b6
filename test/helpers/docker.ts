/**
 * The Docker test guard: docker tests skip only when no engine answers AND NEBULA_REQUIRE_DOCKER is
 * not "1"; with it set (CI), they fail instead of skipping.
 */
import type { TestContext } from 'node:test';
import Docker from 'dockerode';

let probe: Promise<string | undefined> | undefined;

/** Why no engine answers, or undefined when one does (probed once per process, 2 s budget). */
export function dockerUnavailableReason(): Promise<string | undefined> {
  probe ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Docker().ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
        }),
      ]);
      return undefined;
    } catch (error) {
      return `no Docker engine (${error instanceof Error ? error.message : String(error)})`;
    } finally {
      clearTimeout(timer);
    }
  })();
  return probe;
}

/** True when a Docker engine answers. */
export async function dockerAvailable(): Promise<boolean> {
  return (await dockerUnavailableReason()) === undefined;
}

export const dockerRequired = (): boolean => process.env.NEBULA_REQUIRE_DOCKER === '1';

/**
 * Call first in a docker test: returns true to go on; skips the test (returns false) when no engine
 * answers, unless NEBULA_REQUIRE_DOCKER=1, where it throws so the test fails.
 */
export async function requireDockerOrSkip(t: TestContext): Promise<boolean> {
  const reason = await dockerUnavailableReason();
  if (reason === undefined) return true;
  if (dockerRequired()) throw new Error(`NEBULA_REQUIRE_DOCKER=1 but ${reason}`);
  t.skip(reason);
  return false;
}

/** Containers (any state) carrying label nebula.function=<name>. */
export async function containersLabelled(name: string): Promise<Docker.ContainerInfo[]> {
  return new Docker().listContainers({ all: true, filters: { label: [`nebula.function=${name}`] } });
}
