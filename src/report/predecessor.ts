/**
 * Start-up by predecessor (docs/methodology.md, "Predecessors"): what ran just before an invocation
 * can change its cold start, so each line records `predecessor` and this groups a runtime's measured
 * start-ups by it. A difference counts when it is both large (medians ≥ MIN_RATIO apart) and clear
 * (Mann–Whitney U, p < MAX_P): then the report shows the table and the summary warns.
 */
import type { Runtime } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';
import { duration, pValue, ratio } from './format.js';
import { mannWhitneyU, median } from './stats.js';

/** Fewest start-ups a predecessor group needs to be compared. */
export const MIN_GROUP = 5;
/** Slowest / fastest median at which a difference is large enough to matter. */
export const MIN_RATIO = 1.2;
/** Largest p-value of a difference taken as real. */
export const MAX_P = 0.01;

export interface PredecessorGroup {
  predecessor: Runtime;
  n: number;
  median_us: number;
}

/** One runtime's start-ups grouped by the runtime invoked before them. */
export interface PredecessorEffect {
  runtime: Runtime;
  /** Groups of at least MIN_GROUP start-ups, fastest median first. */
  groups: PredecessorGroup[];
  /** Slowest median / fastest median (NaN with fewer than two groups). */
  ratio: number;
  /** Mann–Whitney U of the slowest group against the fastest. */
  p: number;
  significant: boolean;
}

/** Per runtime (in first-seen order), its measured start-ups by predecessor. Lines without one are left out. */
export function startupByPredecessor(lines: readonly InvocationLine[]): PredecessorEffect[] {
  // Measured as the summary counts it (summary.ts isMeasured), with a predecessor recorded.
  const byRuntime = new Map<Runtime, Map<Runtime, number[]>>();
  for (const l of lines) {
    if (l.warmup || !l.ok || !l.metrics || !l.predecessor) continue;
    const groups = byRuntime.get(l.runtime) ?? new Map<Runtime, number[]>();
    byRuntime.set(l.runtime, groups);
    const values = groups.get(l.predecessor) ?? [];
    groups.set(l.predecessor, values);
    values.push(l.metrics.startup_us);
  }
  const out: PredecessorEffect[] = [];
  for (const [runtime, groups] of byRuntime) {
    const samples = [...groups]
      .map(([predecessor, values]) => ({ predecessor, values }))
      .filter((g) => g.values.length >= MIN_GROUP)
      .map((g) => ({ ...g, median_us: median(g.values) }))
      .sort((a, b) => a.median_us - b.median_us);
    const fastest = samples[0];
    const slowest = samples[samples.length - 1];
    const two = samples.length >= 2 && fastest && slowest;
    const r = two ? slowest.median_us / fastest.median_us : NaN;
    const p = two ? mannWhitneyU(slowest.values, fastest.values).p : NaN;
    out.push({
      runtime,
      groups: samples.map((g) => ({ predecessor: g.predecessor, n: g.values.length, median_us: g.median_us })),
      ratio: r,
      p,
      significant: r >= MIN_RATIO && p < MAX_P,
    });
  }
  return out;
}

/** One sentence per significant effect, for the summary and the report. */
export function predecessorWarnings(effects: readonly PredecessorEffect[]): string[] {
  return effects
    .filter((e) => e.significant)
    .map((e) => {
      const fast = e.groups[0]!;
      const slow = e.groups[e.groups.length - 1]!;
      return (
        `${e.runtime} start-up depends on what ran before it: p50 ${duration(slow.median_us)} after ${slow.predecessor} (n=${slow.n}) ` +
        `vs ${duration(fast.median_us)} after ${fast.predecessor} (n=${fast.n}), ${ratio(e.ratio)}, p ${pValue(e.p)} ` +
        '(docs/methodology.md, "Predecessors")'
      );
    });
}

/** The Markdown table of every runtime with at least two predecessor groups (empty when none differs significantly). */
export function renderPredecessorsMarkdown(effects: readonly PredecessorEffect[], heading = '###'): string[] {
  if (!effects.some((e) => e.significant)) return [];
  const predecessors = [...new Set(effects.flatMap((e) => e.groups.map((g) => g.predecessor)))];
  const out = [`${heading} Start-up by predecessor`, '', 'Median start-up of each runtime by the runtime invoked just before it (n); slowest / fastest with p (Mann–Whitney U).', ''];
  out.push(`| runtime | ${predecessors.map((p) => `after ${p}`).join(' | ')} | slowest / fastest | p |`);
  out.push(`| --- | ${predecessors.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const e of effects.filter((x) => x.groups.length >= 2)) {
    const cells = predecessors.map((p) => {
      const g = e.groups.find((x) => x.predecessor === p);
      return g ? `${duration(g.median_us)} (${g.n})` : '—';
    });
    out.push(`| ${e.runtime} | ${cells.join(' | ')} | ${ratio(e.ratio)}${e.significant ? ' ⚠' : ''} | ${pValue(e.p)} |`);
  }
  out.push('');
  return out;
}
