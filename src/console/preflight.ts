/**
 * Checks before a run that the target can do everything the suite asks: it answers, every runtime is
 * available, every function × runtime is deployed. Everything missing is reported in ONE error with
 * the command that fixes it, so a user does not discover problems one run at a time.
 */
import type { TargetClient } from '../client/target.js';
import { ExitCode, TargetError } from '../errors.js';
import type { FunctionInfo, Health } from '../protocol/api.js';
import type { Suite } from './suite.js';

export interface PreflightResult {
  health: Health;
  functions: FunctionInfo[];
}

/** Runs the preflight; throws TargetError (exit 3 unreachable, 5 a runtime unavailable, 4 not deployed). */
export async function preflight(client: TargetClient, suite: Pick<Suite, 'name' | 'functions'>, token?: string): Promise<PreflightResult> {
  const health = await client.health();
  const functions = await client.listFunctions();
  const byName = new Map(functions.map((f) => [f.name, f]));
  const problems: string[] = [];
  const wanted = new Set(suite.functions.flatMap((f) => f.runtimes));
  const unavailable = [...wanted].filter((r) => !health.runtimes[r]);
  for (const runtime of unavailable) {
    const why = health.unavailable?.[runtime];
    problems.push(`runtime ${runtime} is unavailable on the target${why ? `: ${why}` : ''}`);
  }
  const toDeploy: string[] = [];
  for (const fn of suite.functions) {
    const info = byName.get(fn.name);
    // Each runtime's artifact is named like the runtime (src/protocol/api.ts, ArtifactKind).
    const missing = fn.runtimes.filter((r) => !unavailable.includes(r) && !info?.artifacts[r]);
    if (!info) {
      problems.push(`${fn.name}: not deployed`);
      toDeploy.push(fn.name);
    } else if (missing.length) {
      problems.push(`${fn.name}: no artifact for ${missing.join(', ')}`);
      toDeploy.push(fn.name);
    }
  }
  if (problems.length === 0) return { health, functions };
  const origin = client.url.origin;
  const hints: string[] = [];
  if (toDeploy.length) {
    hints.push(
      `Deploy them: nebula build ${toDeploy.map((n) => `functions/${n}`).join(' ')} && nebula deploy ${toDeploy
        .map((n) => `functions/${n}`)
        .join(' ')} --target ${origin}${token ? ' --token …' : ''}`,
    );
  }
  if (unavailable.length) {
    hints.push(`Start the missing engine on the target, or drop ${unavailable.join(', ')} from the suite's runtimes.`);
  }
  throw new TargetError(`target ${origin} is not ready for suite "${suite.name}":\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
    code: unavailable.length ? 'runtime-unavailable' : 'not-deployed',
    exitCode: unavailable.length ? ExitCode.RuntimeUnavailable : ExitCode.NotDeployed,
    hint: hints.join('\n  hint: '),
  });
}
