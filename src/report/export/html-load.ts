/**
 * The HTML report's load curves (docs/report.md, "Load"), per target, one series per runtime:
 * throughput vs offered rate (with the offered rate itself as the ideal), latency p50 and p99 vs rate,
 * power vs throughput, and energy per invocation vs rate; plus the stage table and saturation points.
 */
import type { Runtime } from '../../protocol/api.js';
import type { StageLine } from '../../protocol/results.js';
import type { Point } from '../downsample.js';
import { byRuntime, describeSaturation, perInvocation, saturationOf, stageLoad } from '../load-curves.js';
import { duration, sig } from '../format.js';
import type { ChartSpec } from './html.js';

type Pick = (s: StageLine) => number | null | undefined;

function series(stages: readonly StageLine[], colors: Record<Runtime, string>, x: Pick, y: Pick, suffix = ''): ChartSpec['series'] {
  return [...byRuntime(stages)].map(([runtime, list]) => ({
    name: `${runtime}${suffix}`,
    color: colors[runtime],
    points: list
      .map((s): [number, number] => [x(s) ?? NaN, y(s) ?? NaN])
      .filter((p): p is Point => Number.isFinite(p[0]) && Number.isFinite(p[1]))
      .sort((a, b) => a[0] - b[0]),
  }));
}

function chart(id: string, title: string, xLabel: string, yLabel: string, s: ChartSpec['series']): ChartSpec | undefined {
  if (s.every((x) => x.points.length === 0)) return undefined;
  return { id, title, kind: 'xy', xLabel, yLabel, xlog: false, ylog: false, series: s };
}

/** The load charts of one target (none when the run had no load stages). */
export function loadCharts(stages: readonly StageLine[], idPrefix: string, colors: Record<Runtime, string>): ChartSpec[] {
  if (stages.length === 0) return [];
  const offered: Pick = (s) => s.offered_rps;
  const ideal = [...new Set(stages.map((s) => s.offered_rps))].sort((a, b) => a - b).map((r): Point => [r, r]);
  const charts = [
    chart(`${idPrefix}-load-throughput`, 'load: throughput vs offered rate', 'offered (req/s)', 'completed (req/s)', [
      ...series(stages, colors, offered, (s) => s.throughput_rps),
      { name: 'offered', color: '#999', points: ideal },
    ]),
    chart(`${idPrefix}-load-latency`, 'load: latency from the intended send vs offered rate (solid p50, then p99)', 'offered (req/s)', 'latency (ms)', [
      ...series(stages, colors, offered, (s) => (s.latency.p50_us === null ? null : s.latency.p50_us / 1000), ' p50'),
      ...series(stages, colors, offered, (s) => (s.latency.p99_us === null ? null : s.latency.p99_us / 1000), ' p99'),
    ]),
    chart(`${idPrefix}-load-power`, 'load: average power vs throughput', 'completed (req/s)', 'power (W)', series(stages, colors, (s) => s.throughput_rps, (s) => s.energy?.avg_power_w)),
    chart(
      `${idPrefix}-load-energy`,
      'load: energy per completed invocation vs offered rate (idle baseline taken out)',
      'offered (req/s)',
      'energy per invocation (µWh)',
      series(stages, colors, offered, (s) => s.energy?.per_invocation_uwh),
    ),
  ];
  return charts.filter((c): c is ChartSpec => c !== undefined);
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (us: number | null): string => (us === null ? '—' : duration(us));

/** Saturation points and the stage table, as HTML. */
export function loadTables(stages: readonly StageLine[]): string {
  if (stages.length === 0) return '';
  const out = ['<h3>Load stages</h3><ul>'];
  for (const [runtime, list] of byRuntime(stages)) out.push(`<li>${esc(describeSaturation(saturationOf(runtime, list)))}</li>`);
  out.push('</ul><table><thead><tr><th>runtime</th><th>stage</th><th>load</th><th>offered req/s</th><th>throughput req/s</th><th>sent</th><th>completed</th><th>failed</th><th>dropped</th><th>p50</th><th>p99</th><th>power</th><th>energy / invocation</th></tr></thead><tbody>');
  for (const s of stages) {
    const cells = [s.runtime, String(s.stage), stageLoad(s), sig(s.offered_rps), sig(s.throughput_rps), String(s.sent), String(s.completed), String(s.failed), String(s.dropped), ms(s.latency.p50_us), ms(s.latency.p99_us), s.energy?.avg_power_w == null ? '—' : `${sig(s.energy.avg_power_w)} W`, perInvocation(s)];
    out.push(`<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
  }
  out.push('</tbody></table>');
  return out.join('');
}
