/**
 * Load curves (docs/report.md, "Load"): from a run's stages.jsonl, per runtime, throughput against the
 * offered rate, latency percentiles and energy per invocation against the rate, power against
 * throughput, and the rate at which the runtime saturates. Pure: stage lines in, text and points out.
 */
import type { Runtime } from '../protocol/api.js';
import type { StageLine } from '../protocol/results.js';
import { duration, energy, sig } from './format.js';

/** A runtime saturates at the first offered rate of which it completes less than this share. */
export const SATURATION_SHARE = 0.9;

export interface Saturation {
  runtime: Runtime;
  /** The lowest offered rate it could not keep up with, req/s (null: kept up with every stage). */
  rate: number | null;
  /** The highest throughput it reached in any stage, req/s. */
  peak_rps: number;
  /** The highest rate offered to it, req/s. */
  max_offered_rps: number;
}

/** The stage lines grouped by runtime in first-seen order, each group in stage order. */
export function byRuntime(stages: readonly StageLine[]): Map<Runtime, StageLine[]> {
  const map = new Map<Runtime, StageLine[]>();
  for (const s of stages) {
    const list = map.get(s.runtime);
    if (list) list.push(s);
    else map.set(s.runtime, [s]);
  }
  for (const list of map.values()) list.sort((a, b) => a.stage - b.stage);
  return map;
}

/**
 * Where a runtime saturates: the lowest open-loop rate at which it completed less than
 * SATURATION_SHARE of the offered requests per second, or dropped or failed any. Closed-loop stages
 * have no offered rate and only count towards the peak.
 */
export function saturationOf(runtime: Runtime, stages: readonly StageLine[]): Saturation {
  const open = stages.filter((s) => s.mode === 'open').sort((a, b) => a.offered_rps - b.offered_rps);
  const behind = open.find((s) => s.throughput_rps < SATURATION_SHARE * s.offered_rps || s.dropped > 0 || s.failed > 0);
  return {
    runtime,
    rate: behind ? (behind.rate ?? behind.offered_rps) : null,
    peak_rps: Math.max(0, ...stages.map((s) => s.throughput_rps)),
    max_offered_rps: Math.max(0, ...open.map((s) => s.offered_rps)),
  };
}

/** "wasm saturates at 200 req/s (peak 151 req/s)" or "wasm kept up with every rate offered (up to 50 req/s)". */
export function describeSaturation(s: Saturation): string {
  if (s.rate !== null) return `${s.runtime} saturates at ${sig(s.rate)} req/s (peak throughput ${sig(s.peak_rps)} req/s)`;
  if (s.max_offered_rps === 0) return `${s.runtime}: closed loop only, peak throughput ${sig(s.peak_rps)} req/s`;
  return `${s.runtime} kept up with every rate offered (up to ${sig(s.max_offered_rps)} req/s, peak throughput ${sig(s.peak_rps)} req/s)`;
}

/** The load a stage put on: "50 req/s poisson" or "8 in flight". */
export function stageLoad(s: StageLine): string {
  return s.mode === 'open' ? `${sig(s.rate ?? s.offered_rps)} req/s ${s.arrivals ?? ''}`.trim() : `${s.concurrency ?? '?'} in flight`;
}

/** Energy per completed invocation with its uncertainty: "412 ± 35 µWh". */
export function perInvocation(s: StageLine): string {
  const e = s.energy;
  if (!e || e.per_invocation_uwh === null) return '—';
  const u = e.per_invocation_uncertainty_uwh;
  return u === null ? energy(e.per_invocation_uwh) : `${sig(e.per_invocation_uwh)} ± ${energy(u)}`;
}

const ms = (us: number | null): string => (us === null ? '—' : duration(us));

/** One line per finished stage for --ci. */
export function describeStage(s: StageLine): string {
  const parts = [
    `stage ${s.runtime} #${s.stage} (${stageLoad(s)}, ${sig(s.seconds)} s):`,
    `${s.sent} sent, ${s.completed} completed, ${s.failed} failed, ${s.dropped} dropped;`,
    `${sig(s.throughput_rps)} req/s achieved;`,
    `latency p50 ${ms(s.latency.p50_us)} p99 ${ms(s.latency.p99_us)} from the intended send`,
  ];
  if (s.mode === 'open') parts.push(`(send lateness p99 ${ms(s.lateness.p99_us)})`);
  if (s.energy) {
    parts.push(`; ${s.energy.avg_power_w === null ? '— W' : `${sig(s.energy.avg_power_w)} W`}, ${perInvocation(s)} per invocation`);
    if (s.energy.note) parts.push(`(${s.energy.note})`);
  }
  return parts.join(' ').replace(' ;', ';');
}

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** The stage table per runtime with its saturation point, for summary.md and the Markdown report. */
export function renderStagesMarkdown(stages: readonly StageLine[], heading = '##'): string {
  const out = [`${heading} Load stages`, ''];
  out.push(
    'Latency counts from each request\'s intended send time; energy per invocation = (stage energy − idle baseline × stage duration) / completed, ± one standard uncertainty.',
    '',
  );
  for (const [runtime, list] of byRuntime(stages)) {
    out.push(`${heading}# ${runtime}`, '', `${describeSaturation(saturationOf(runtime, list))}.`, '');
    out.push(row(['stage', 'load', 'offered req/s', 'throughput req/s', 'sent', 'completed', 'failed', 'dropped', 'p50', 'p90', 'p99', 'power', 'energy / invocation']));
    out.push(row(['---', '---', ...Array.from({ length: 11 }, () => '---:')]));
    for (const s of list) {
      out.push(
        row([
          String(s.stage),
          stageLoad(s),
          sig(s.offered_rps),
          sig(s.throughput_rps),
          String(s.sent),
          String(s.completed),
          String(s.failed),
          String(s.dropped),
          ms(s.latency.p50_us),
          ms(s.latency.p90_us),
          ms(s.latency.p99_us),
          s.energy?.avg_power_w == null ? '—' : `${sig(s.energy.avg_power_w)} W`,
          perInvocation(s),
        ]),
      );
    }
    out.push('');
  }
  return out.join('\n');
}
