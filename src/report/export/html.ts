/**
 * HTML exporter: one self-contained file (inline CSS, data and chart script; nothing fetched) with,
 * per target: startup and total time vs input per runtime (log scale when runtimes differ by orders
 * of magnitude), the distribution per runtime as box plots, energy per invocation vs input, and the
 * power timeline with invocation windows and the idle baseline.
 */
import type { Runtime } from '../../protocol/api.js';
import type { TargetReport } from '../compare.js';
import { downsampleMinMax, mergeWindows, type Point } from '../downsample.js';
import { formatMetric, isMeasured, METRIC_LABEL, metricValue, type Metric } from '../summary.js';
import { quantile } from '../stats.js';
import type { LoadedRun } from '../load.js';
import type { ReportContext } from './context.js';
import { CHARTS_JS } from './html-charts.js';
import { loadCharts, loadTables } from './html-load.js';
import { metricsOf, ratioWithCi } from './markdown.js';

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies and in greyscale print.
export const COLORS: Record<Runtime, string> = { wasm: '#0072b2', component: '#cc79a7', native: '#009e73', docker: '#e69f00' };
/** Pixel-ish resolution of the power timeline: min/max of each of this many buckets. */
const TIMELINE_BUCKETS = 1000;

interface Series {
  name: string;
  color: string;
  points: Point[];
}
interface Box {
  name: string;
  color: string;
  n: number;
  low: number;
  q1: number;
  median: number;
  q3: number;
  high: number;
}
export interface ChartSpec {
  id: string;
  title: string;
  kind: 'xy' | 'box' | 'timeline';
  xLabel: string;
  yLabel: string;
  xlog: boolean;
  ylog: boolean;
  series: Series[];
  boxes?: Box[];
  windows?: [number, number, number][];
  windowNames?: string[];
  windowColors?: string[];
  baseline?: number | null;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Log scale when every value is positive and they span more than two orders of magnitude. */
export function wantsLog(values: readonly number[]): boolean {
  const v = values.filter(Number.isFinite);
  if (v.length === 0 || v.some((x) => x <= 0)) return false;
  return Math.max(...v) / Math.min(...v) > 100;
}

const UNIT: Record<Metric, [string, number]> = {
  startup_us: ['ms', 1000],
  exec_us: ['ms', 1000],
  total_us: ['ms', 1000],
  energy_uwh: ['µWh', 1],
  isolated_energy_uwh: ['µWh', 1],
};

function xyChart(id: string, t: TargetReport, fnIndex: number, metric: Metric): ChartSpec | undefined {
  const f = t.functions[fnIndex];
  if (!f) return undefined;
  const numeric = f.inputs.every((i) => Number.isFinite(Number(i.input)));
  const [unit, div] = UNIT[metric];
  const series: Series[] = f.runtimes.map((r) => ({
    name: r.runtime,
    color: COLORS[r.runtime],
    points: f.inputs.flatMap((i, k): Point[] => {
      const c = i.cells.find((x) => x.runtime === r.runtime);
      const v = c ? c.median[metric] / div : NaN;
      return Number.isFinite(v) ? [[numeric ? Number(i.input) : k, v]] : [];
    }),
  }));
  if (series.every((s) => s.points.length === 0)) return undefined;
  return {
    id,
    title: `${f.function}: ${METRIC_LABEL[metric]} vs input`,
    kind: 'xy',
    xLabel: numeric ? 'input' : 'input (index)',
    yLabel: `median ${METRIC_LABEL[metric]} (${unit})`,
    xlog: false,
    ylog: wantsLog(series.flatMap((s) => s.points.map((p) => p[1]))),
    series,
  };
}

function boxChart(id: string, run: LoadedRun, t: TargetReport, metric: Metric): ChartSpec | undefined {
  const [unit, div] = UNIT[metric];
  const boxes: Box[] = [];
  for (const runtime of t.runtimes) {
    const xs: number[] = [];
    for (const l of run.invocations) {
      if (l.runtime !== runtime || !isMeasured(l)) continue;
      const v = metricValue(l, metric);
      if (v !== undefined) xs.push(v / div);
    }
    if (xs.length === 0) continue;
    boxes.push({
      name: runtime,
      color: COLORS[runtime],
      n: xs.length,
      low: quantile(xs, 0.05),
      q1: quantile(xs, 0.25),
      median: quantile(xs, 0.5),
      q3: quantile(xs, 0.75),
      high: quantile(xs, 0.95),
    });
  }
  if (boxes.length === 0) return undefined;
  return {
    id,
    title: `${METRIC_LABEL[metric]} distribution per runtime`,
    kind: 'box',
    xLabel: 'runtime (box p25–p75, line median, whiskers p5–p95)',
    yLabel: `${METRIC_LABEL[metric]} (${unit})`,
    xlog: false,
    ylog: wantsLog(boxes.flatMap((b) => [b.low, b.high])),
    series: [],
    boxes,
  };
}

function timelineChart(id: string, run: LoadedRun, t: TargetReport): ChartSpec | undefined {
  if (run.samples.length === 0) return undefined;
  const t0 = (run.samples[0] as { t_start_us: number }).t_start_us;
  const mid = (s: { t_start_us: number; t_end_us: number }): number => ((s.t_start_us + s.t_end_us) / 2 - t0) / 1e6;
  const power: Point[] = run.samples.map((s) => [mid(s), s.power_w]);
  const span = Math.max(1e-6, (power[power.length - 1] as Point)[0] - (power[0] as Point)[0]);
  const runtimes = t.runtimes;
  const defaultOffset = run.run?.clock?.offset_us ?? 0;
  const raw = run.invocations
    .filter((l) => l.metrics)
    .map((l) => {
      // Server timestamps onto the bench clock the samples use: bench = server − offset.
      const off = l.clock?.offset_us ?? defaultOffset;
      const m = l.metrics as { started_us: number; ended_us: number };
      return { from: (m.started_us - off - t0) / 1e6, to: (m.ended_us - off - t0) / 1e6, key: runtimes.indexOf(l.runtime) };
    })
    .sort((a, b) => a.from - b.from);
  const windows = mergeWindows(raw, span / (2 * TIMELINE_BUCKETS)).map((w): [number, number, number] => [w.from, w.to, w.key]);
  return {
    id,
    title: 'power timeline',
    kind: 'timeline',
    xLabel: 'time since first sample (s)',
    yLabel: 'power (W)',
    xlog: false,
    ylog: false,
    series: [{ name: 'power', color: '#222', points: downsampleMinMax(power, TIMELINE_BUCKETS) }],
    windows,
    windowNames: runtimes,
    windowColors: runtimes.map((r) => COLORS[r]),
    baseline: t.baseline_w,
  };
}

/** Every chart of one target, in page order. */
export function targetCharts(run: LoadedRun, t: TargetReport, index: number): ChartSpec[] {
  const charts: (ChartSpec | undefined)[] = [];
  const energyMetric: Metric | undefined = metricsOf(t).includes('isolated_energy_uwh')
    ? 'isolated_energy_uwh'
    : metricsOf(t).includes('energy_uwh')
      ? 'energy_uwh'
      : undefined;
  t.functions.forEach((_f, k) => {
    charts.push(xyChart(`t${index}-f${k}-startup`, t, k, 'startup_us'));
    charts.push(xyChart(`t${index}-f${k}-total`, t, k, 'total_us'));
    if (energyMetric) charts.push(xyChart(`t${index}-f${k}-energy`, t, k, energyMetric));
  });
  charts.push(boxChart(`t${index}-box-startup`, run, t, 'startup_us'));
  charts.push(boxChart(`t${index}-box-total`, run, t, 'total_us'));
  if (energyMetric) charts.push(boxChart(`t${index}-box-energy`, run, t, energyMetric));
  charts.push(timelineChart(`t${index}-timeline`, run, t));
  charts.push(...loadCharts(run.stages, `t${index}`, COLORS));
  return charts.filter((c): c is ChartSpec => c !== undefined);
}

function headlineTable(t: TargetReport): string {
  const metrics = metricsOf(t);
  const rows = t.headlines
    .filter((h) => metrics.includes(h.metric))
    .map(
      (h) =>
        `<tr><td>${METRIC_LABEL[h.metric]}</td><td>${h.runtime} / ${h.baseline}</td><td>${escapeHtml(formatMetric(h.metric, h.value))}</td><td>${escapeHtml(formatMetric(h.metric, h.baseline_value))}</td><td><b>${escapeHtml(ratioWithCi(h.ratio))}</b></td></tr>`,
    );
  if (!rows.length) return '';
  return `<table><thead><tr><th>metric</th><th>comparison</th><th>runtime</th><th>baseline</th><th>ratio [95% CI]</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Serializes the report as a self-contained HTML page. */
export function serialize({ report, runs }: ReportContext): string {
  const charts: ChartSpec[] = [];
  const sections: string[] = [];
  report.targets.forEach((t, i) => {
    const run = runs[i];
    if (!run) return;
    const cs = targetCharts(run, t, i);
    charts.push(...cs);
    const warn = t.warnings.length
      ? `<div class="warn"><b>Incomplete or damaged run data:</b><ul>${t.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`
      : '';
    const figures = cs.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption><div class="chart" id="${c.id}"></div></figure>`).join('\n');
    sections.push(
      `<section><h2>${escapeHtml(t.label)}</h2><p>Run ${escapeHtml(t.run_id ?? '(unknown)')} (${escapeHtml(t.status)}). ${t.counts.invocations} invocations: ${t.counts.measured} measured, ${t.counts.warmups} warm-up and ${t.counts.errors} failed (excluded).</p>${warn}${headlineTable(t)}${loadTables(run.stages)}\n${figures}</section>`,
    );
  });
  // "<" escaped so no data string can close the script element.
  const data = JSON.stringify({ charts }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nebula report</title>
<script>window.onerror = function (m) { document.documentElement.setAttribute('data-js-error', String(m)); };</script>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}.warn{background:#fff4e5;border-left:4px solid #e67e22;padding:.4em 1em}
svg{max-width:100%;height:auto}
</style></head>
<body>
<h1>Nebula report</h1>
<p>Baseline runtime <b>${report.baseline}</b>. Values are medians; ratios are medians over inputs of per-input medians with ${Math.round(report.level * 100)}% bootstrap confidence intervals (${report.resamples} resamples, seed ${report.seed}).</p>
${sections.join('\n')}
<script type="application/json" id="nebula-data">${data}</script>
<script>${CHARTS_JS}</script>
</body></html>
`;
}
