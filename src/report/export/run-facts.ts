/**
 * What a reader needs to trust a run, as Markdown (the HTML report renders the same lines): the
 * suite, versions, target, meter, clock offset, idle baselines, times and status, and the suite's
 * thresholds judged as the console judged them (none judged for a run that did not complete).
 */
import { evaluateThresholds, formatThresholdValue, THRESHOLD_MARK, thresholdVerdict, withholdThresholds } from '../../console/thresholds.js';
import { ThresholdSchema } from '../../console/suite-schema.js';
import type { MeterObserved } from '../../meter/meter-observer.js';
import type { LoadedRun } from '../load.js';

function row(name: string, value: string): string {
  return `| ${name} | ${value.replace(/\|/g, '\\|')} |`;
}

const ms = (us: number | null): string => (us === null ? '—' : us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);

/** "read every 1.4 ms; values change every 1.4 ms (refresh period); ±0.115 W per sample; largest hole 25 ms; 1,234 samples". */
export function observedText(seen: MeterObserved): string {
  const refresh = seen.refresh_us === null ? 'values never changed (refresh period unknown)' : `values change every ${ms(seen.refresh_us)} (the refresh period: shorter windows are not measurable alone)`;
  const resolution = seen.resolution_w === null ? '' : `; ±${seen.resolution_w.toFixed(3)} W per sample (register resolution)`;
  return `read every ${ms(seen.interval_us)}; ${refresh}${resolution}; largest hole ${ms(seen.largest_hole_us)}; ${seen.samples} samples`;
}

/** The "Run" table and, when the suite had any, the "Thresholds" list of one run. */
export function runFacts(loaded: LoadedRun): string[] {
  const run = loaded.run;
  if (!run) return [];
  const out = ['### Run', '', '| fact | value |', '| --- | --- |'];
  out.push(row('suite', `${run.suite.name}${run.suite.file ? ` (${run.suite.file})` : ''}`));
  out.push(row('bench', `nebula ${run.versions.nebula}, Node ${run.versions.node}`));
  const health = run.target.health;
  out.push(row('target', `${run.target.url}${health ? `, nebula ${health.version}, ${health.arch}` : ''}`));
  out.push(row('runtimes', run.runtimes.join(', ')));
  out.push(row('meter', `${run.meter.spec}${run.meter.description ? ` (${run.meter.description})` : ''}`));
  const seen = loaded.observed;
  if (seen && seen.samples > 1) out.push(row('meter, as observed', observedText(seen)));
  if (run.clock) out.push(row('clock offset', `${Math.round(run.clock.offset_us)} µs ± ${Math.round(run.clock.uncertainty_us)} µs (target − bench)`));
  const { before, after, drift_w } = run.baseline;
  if (before || after) {
    const fmt = (b: typeof before): string => (b && b.power_w !== null ? `${b.power_w.toFixed(3)} W (${b.samples} samples)` : '—');
    out.push(row('idle baseline', `before ${fmt(before)}, after ${fmt(after)}${drift_w === null ? '' : `, drift ${drift_w >= 0 ? '+' : ''}${drift_w.toFixed(3)} W`}`));
  }
  out.push(row('started / ended', `${run.started_at} / ${run.ended_at ?? '—'}`));
  out.push(row('status', `${run.status}${run.error ? `: ${run.error}` : ''}`));
  out.push('');
  const parsed = ThresholdSchema.array().safeParse((run.suite as { thresholds?: unknown }).thresholds ?? []);
  if (parsed.success && parsed.data.length > 0) {
    const evaluated = evaluateThresholds(parsed.data, loaded.invocations);
    const results = run.status === 'completed' ? evaluated : withholdThresholds(evaluated, run.status);
    out.push('### Thresholds', '');
    for (const t of results) out.push(`- ${THRESHOLD_MARK[thresholdVerdict(t)]} ${thresholdVerdict(t)}: ${t.label} (got ${formatThresholdValue(t)})`);
    out.push('');
  }
  return out;
}
