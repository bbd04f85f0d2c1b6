/**
 * HTML exporter: one self-contained file (inline CSS, data and chart script; nothing fetched): the
 * Markdown report's tables as HTML, then per target: startup and total time vs input per runtime (log scale when runtimes differ by orders
 * of magnitude), the distribution per runtime as box plots, energy per invocation vs input, and the
 * power timeline with invocation windows and the idle baseline.
 */
import type { Runtime } from '../../protocol/api.js';
import type { TargetReport } from '../compare.js';
import { downsampleMinMax, mergeWindows, type Point } from '../downsample.js';
import { isMeasured, METRIC_LABEL, metricValue, type Metric } from '../summary.js';
import { quantile } from '../stats.js';
import type { LoadedRun } from '../load.js';
import type { ReportContext } from './context.js';
import { CHARTS_JS } from './html-charts.js';
import { loadCharts } from './html-load.js';
import { escapeHtml, markdownToHtml } from './markdown-html.js';
import { metricsOf, serialize as markdownSerialize } from './markdown.js';

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

export { escapeHtml };

/** Log scale when every value is positive and they span more than two orders of magnitude. */
export function wantsLog(values: readonly number[]): boolean {
  const v = values.filter(Number.isFinite);
  if (v.length === 0 || v.some((x) => x <= 0)) return false;
  return Math.max(...v) / Math.min(...v) > 100;
}

const UNIT: Record<Metric, [string, number]> = {
  startup_us: ['ms', 1000],
  exec_us: ['ms', 1000],
  teardown_us: ['ms', 1000],
  total_us: ['ms', 1000],
  energy_uwh: ['µWh', 1],
  isolated_energy_uwh: ['µWh', 1],
  invocation_energy_uwh: ['µWh', 1],
  invocation_isolated_energy_uwh: ['µWh', 1],
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
  // The first energy the target has: isolated before gross, the function's run before the whole
  // invocation (a thesis file has only the latter).
  const energyMetric: Metric | undefined = (['isolated_energy_uwh', 'invocation_isolated_energy_uwh', 'energy_uwh', 'invocation_energy_uwh'] as const).find((m) =>
    metricsOf(t).includes(m),
  );
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

/**
 * Serializes the report as a self-contained HTML page: the Markdown report rendered as HTML (the same
 * tables with CIs and p-values, run facts, thresholds and warnings — and so every charted figure
 * without JavaScript), each target's charts after its section, across the page width.
 */
export function serialize(context: ReportContext): string {
  const { report, runs } = context;
  const charts: ChartSpec[] = [];
  const chartsOf = new Map<string, string>();
  report.targets.forEach((t, i) => {
    const run = runs[i];
    if (!run) return;
    const cs = targetCharts(run, t, i);
    charts.push(...cs);
    const figures = cs.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption><div class="chart" id="${c.id}"></div></figure>`).join('\n');
    if (figures) chartsOf.set(t.label, `<h3>Charts</h3><noscript><p class="warn">The charts need JavaScript; every figure they show is in the tables above.</p></noscript><div class="charts">${figures}</div>`);
  });
  // One <section> per "## " heading of the Markdown; a target's charts close its own section.
  const sections = markdownSerialize(context)
    .split(/\n(?=## )/)
    .map((part) => {
      const label = /^## (.*)$/m.exec(part)?.[1];
      return `<section>${markdownToHtml(part)}${label !== undefined ? (chartsOf.get(label) ?? '') : ''}</section>`;
    });
  // "<" escaped so no data string can close the script element.
  const data = JSON.stringify({ charts }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Nebula report</title>
<script>window.onerror = function (m) { document.documentElement.setAttribute('data-js-error', String(m)); };</script>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1600px;color:#222;padding:0 1.5em}
.table{overflow-x:auto}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}.num{text-align:right}
thead th{background:#f4f4f4}tbody tr:nth-child(even){background:#fafafa}code{font-size:90%}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:0 2em}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.warn{background:#fff4e5;border-left:4px solid #e67e22;padding:.4em 1em;margin:1em 0}
.chart svg{width:100%;height:auto}
</style></head>
<body>
${sections.join('\n')}
<script type="application/json" id="nebula-data">${data}</script>
<script>${CHARTS_JS}</script>
</body></html>
`;
}
