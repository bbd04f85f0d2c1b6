/** Markdown exporter: the comparison as tables ready to paste into a paper or a README. */
import type { Comparison, FunctionReport, MetricFigure, Report, TargetReport } from '../compare.js';
import { duration, pValue, ratio } from '../format.js';
import type { Interval } from '../stats.js';
import { ENERGY_METRICS, formatMetric, isIsolated, METRIC_LABEL, METRICS, type Metric } from '../summary.js';
import { renderStagesMarkdown } from '../load-curves.js';
import type { ModeComparison, ModeSide } from '../modes.js';
import { predecessorWarnings, renderPredecessorsMarkdown } from '../predecessor.js';
import type { LoadedRun } from '../load.js';
import type { ReportContext } from './context.js';
import { runFacts } from './run-facts.js';

const row = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
const rule = (n: number, left = 1): string => row(Array.from({ length: n }, (_, i) => (i < left ? '---' : '---:')));

/** "2,890× [2,700–3,100]". */
export function ratioWithCi(ci: Interval): string {
  if (!Number.isFinite(ci.estimate)) return '—';
  return Number.isFinite(ci.low) ? `${ratio(ci.estimate)} [${ratio(ci.low).slice(0, -1)}–${ratio(ci.high)}]` : ratio(ci.estimate);
}

/** "1.2 ms [1.1–1.3 ms]" for an aggregate and the CI of the median. */
function aggregateWithCi(side: ModeSide): string {
  if (side.n === 0) return '—';
  const ci = side.median_ci;
  return Number.isFinite(ci.low) ? `${duration(side.aggregate)} [${duration(ci.low)}–${duration(ci.high)}]` : duration(side.aggregate);
}

/** The cold vs prewarmed table of a run that ran both modes (docs/methodology.md, "Start modes"). */
function modesSection(modes: readonly ModeComparison[]): string[] {
  if (modes.length === 0) return [];
  const out = [
    '### Cold vs prewarmed',
    '',
    'Per runtime, over the (function, input) cells run in both start modes: median over inputs of per-input medians [95% CI of the median], and prewarmed / cold with its stratified-bootstrap CI. *prepared*: prewarmed invocations that found an instance prepared ahead. The other tables compare runtimes on the cold invocations.',
    '',
  ];
  out.push(row(['runtime', 'metric', 'cold', 'prewarmed', 'prewarmed / cold', 'prepared']), rule(6, 2));
  for (const m of modes) {
    out.push(row([m.runtime, METRIC_LABEL[m.metric], aggregateWithCi(m.cold), aggregateWithCi(m.prewarmed), ratioWithCi(m.ratio), `${m.prewarmed.prepared} of ${m.prewarmed.n}`]));
  }
  out.push('');
  return out;
}

function valueWithCi(metric: Metric, f: MetricFigure): string {
  if (f.n === 0) return '—';
  const ci = f.median_ci;
  return `${formatMetric(metric, f.median)} [${formatMetric(metric, ci.low)}–${formatMetric(metric, ci.high)}]`;
}

/** The metrics a target has data for (energy only with a meter). */
export function metricsOf(t: TargetReport): Metric[] {
  return METRICS.filter((m) => t.functions.some((f) => f.runtimes.some((r) => r.metrics[m].n > 0)));
}

/** A ratio cell: the ratio with its CI, or "no ratio" when refused (the reason is listed below the table). */
function ratioCell(c: { ratio: Interval; refused?: string }): string {
  return c.refused ? 'no ratio (see below)' : ratioWithCi(c.ratio);
}

/** Per runtime, how many energies of each window are usable: the flags a ratio rests on. */
function flagsTable(f: FunctionReport): string[] {
  const shown = ENERGY_METRICS.filter((m) => isIsolated(m) && f.runtimes.some((r) => r.energy_flags?.[m]));
  if (shown.length === 0) return [];
  const out = ['Energy values per window: flagged = window too short for the meter to measure alone, < 0 = isolated energy below zero (docs/energy.md):', ''];
  out.push(row(['runtime', ...shown.flatMap((m) => [`${METRIC_LABEL[m]}: values`, 'flagged', '< 0'])]), rule(1 + 3 * shown.length));
  for (const r of f.runtimes) {
    const cells = shown.flatMap((m) => {
      const x = r.energy_flags?.[m];
      return x ? [`${x.values} of ${x.measured}`, String(x.not_measurable), String(x.negative)] : ['—', '—', '—'];
    });
    out.push(row([r.runtime, ...cells]));
  }
  out.push('');
  return out;
}

function functionSection(f: FunctionReport, report: Report, metrics: Metric[]): string[] {
  const out: string[] = [`### ${f.function}`, ''];
  out.push(row(['runtime', 'n', 'failed', 'warm-up', ...metrics.map((m) => `${METRIC_LABEL[m]} median [95% CI]`)]));
  out.push(rule(4 + metrics.length));
  for (const r of f.runtimes) {
    out.push(row([r.runtime, String(r.measured), String(r.errors), String(r.warmups), ...metrics.map((m) => valueWithCi(m, r.metrics[m]))]));
  }
  out.push('');
  out.push(...flagsTable(f));
  const others = f.runtimes.filter((r) => r.vs_baseline);
  const refusedMetrics = new Set<Metric>();
  if (others.length) {
    out.push(`Ratio to ${report.baseline} (median over inputs of per-input medians, [95% CI]; p: Mann–Whitney U, two-sided):`, '');
    out.push(row(['runtime', ...metrics.flatMap((m) => [`${METRIC_LABEL[m]}`, 'p'])]));
    out.push(rule(1 + 2 * metrics.length));
    const reasons: string[] = [];
    for (const r of others) {
      const vs = r.vs_baseline as Record<Metric, Comparison>;
      out.push(row([`${r.runtime} / ${report.baseline}`, ...metrics.flatMap((m) => [ratioCell(vs[m]), pValue(vs[m].test.p)])]));
      for (const m of metrics) {
        const reason = vs[m].refused;
        if (!reason) continue;
        refusedMetrics.add(m);
        reasons.push(`- no ${METRIC_LABEL[m]} ratio for ${r.runtime} / ${report.baseline}: ${reason}`);
      }
    }
    out.push('', ...(reasons.length ? [...reasons, ''] : []));
  }
  if (f.inputs.length > 1) {
    // Per-input ratios of refused energies would print what the ratio above refuses to.
    const shown = metrics.filter((m) => m !== 'exec_us' && m !== 'teardown_us' && m !== 'energy_uwh' && m !== 'invocation_energy_uwh' && !refusedMetrics.has(m));
    out.push('Per input (medians):', '');
    const head = ['input'];
    for (const m of shown) {
      for (const r of f.runtimes) head.push(`${r.runtime} ${METRIC_LABEL[m]}`);
      for (const r of others) head.push(`${r.runtime}/${report.baseline}`);
    }
    out.push(row(head), rule(head.length));
    for (const i of f.inputs) {
      const cells = [i.input];
      for (const m of shown) {
        for (const r of f.runtimes) {
          const c = i.cells.find((x) => x.runtime === r.runtime);
          cells.push(c ? formatMetric(m, c.median[m]) : '—');
        }
        for (const r of others) {
          const c = i.cells.find((x) => x.runtime === r.runtime);
          cells.push(c?.ratio ? ratio(c.ratio[m]) : '—');
        }
      }
      out.push(row(cells));
    }
    out.push('');
  }
  return out;
}

function targetSection(t: TargetReport, report: Report, run: LoadedRun | undefined): string[] {
  const out: string[] = [`## ${t.label}`, ''];
  const meta = [t.source === 'thesis' ? `Thesis result file ${t.dir} (imported: the thesis prototype's own measurements, not a Nebula run)` : `Run ${t.run_id ?? '(unknown)'} (${t.status})`];
  if (t.meter) meta.push(`meter ${t.meter}`);
  if (t.baseline_w !== null) {
    const drift = t.drift_w === null ? '' : ` before the run, drift ${t.drift_w >= 0 ? '+' : ''}${t.drift_w.toFixed(3)} W by its end`;
    meta.push(`idle baseline ${t.baseline_w} W${drift}`);
  }
  out.push(`${meta.join(', ')}. ${t.counts.invocations} invocations: ${t.counts.measured} measured, ${t.counts.warmups} warm-up and ${t.counts.errors} failed (excluded).`, '');
  if (t.warnings.length) {
    out.push('> **Incomplete or damaged run data:**');
    for (const w of t.warnings) out.push(`> - ${w}`);
    out.push('');
  }
  for (const c of t.caveats) out.push(`> **Caveat:** ${c}`, '');
  if (run) out.push(...runFacts(run));
  const metrics = metricsOf(t);
  if (t.headlines.length) {
    out.push('### Headline', '');
    for (const h of t.headlines) {
      if (!metrics.includes(h.metric)) continue;
      const verdict = h.refused ? `**no ratio**: ${h.refused}` : `**${ratioWithCi(h.ratio)}**`;
      out.push(`- **${METRIC_LABEL[h.metric]}**: ${h.runtime} ${formatMetric(h.metric, h.value)} vs ${h.baseline} ${formatMetric(h.metric, h.baseline_value)} — ${verdict}`);
    }
    out.push('');
  }
  out.push(...modesSection(t.modes));
  const interference = predecessorWarnings(t.predecessors);
  if (interference.length) {
    for (const w of interference) out.push(`> **Warning:** ${w}`);
    out.push('', ...renderPredecessorsMarkdown(t.predecessors));
  }
  for (const f of t.functions) out.push(...functionSection(f, report, metrics));
  return out;
}

function sideBySide(report: Report): string[] {
  const targets = report.targets;
  const keys: { metric: Metric; runtime: string }[] = [];
  for (const t of targets) for (const h of t.headlines) if (!keys.some((k) => k.metric === h.metric && k.runtime === h.runtime)) keys.push({ metric: h.metric, runtime: h.runtime });
  if (keys.length === 0) return [];
  const out = ['## Targets side by side', '', `Median over inputs of per-input medians; ratio to ${report.baseline} with its 95% CI.`, ''];
  out.push(row(['metric', 'runtime', ...targets.map((t) => t.label)]), rule(2 + targets.length, 2));
  for (const k of keys) {
    const cells = targets.map((t) => {
      const h = t.headlines.find((x) => x.metric === k.metric && x.runtime === k.runtime);
      return h ? `${formatMetric(k.metric, h.value)} vs ${formatMetric(k.metric, h.baseline_value)}: ${h.refused ? 'no ratio (mostly flagged values)' : ratioWithCi(h.ratio)}` : '—';
    });
    out.push(row([METRIC_LABEL[k.metric], `${k.runtime} / ${report.baseline}`, ...cells]));
  }
  out.push('', ...functionsSideBySide(report));
  return out;
}

/** Per function found in more than one target: each runtime's ratio to the baseline per metric, target beside target. */
function functionsSideBySide(report: Report): string[] {
  const targets = report.targets;
  const names = [...new Set(targets.flatMap((t) => t.functions.map((f) => f.function)))].filter(
    (fn) => targets.filter((t) => t.functions.some((f) => f.function === fn)).length > 1,
  );
  if (names.length === 0) return [];
  const out = ['### Per function, side by side', '', `Ratio to ${report.baseline} per function (median over inputs of per-input medians, [95% CI]); "—": not measured there.`, ''];
  out.push(row(['function', 'metric', 'runtime', ...targets.map((t) => t.label)]), rule(3 + targets.length, 3));
  for (const fn of names) {
    const reports = targets.map((t) => t.functions.find((f) => f.function === fn));
    const runtimes = [...new Set(reports.flatMap((f) => (f?.runtimes ?? []).filter((r) => r.vs_baseline).map((r) => r.runtime)))];
    for (const m of METRICS) {
      for (const runtime of runtimes) {
        const cells = reports.map((f) => {
          const vs = f?.runtimes.find((r) => r.runtime === runtime)?.vs_baseline?.[m];
          if (!vs) return '—';
          if (vs.refused) return 'no ratio (mostly flagged values)';
          return Number.isFinite(vs.ratio.estimate) ? ratioWithCi(vs.ratio) : '—';
        });
        if (cells.every((c) => c === '—')) continue;
        out.push(row([fn, METRIC_LABEL[m], `${runtime} / ${report.baseline}`, ...cells]));
      }
    }
  }
  out.push('');
  return out;
}

/** Serializes the report as Markdown. */
export function serialize({ report, runs }: ReportContext): string {
  const out: string[] = ['# Nebula report', ''];
  out.push(
    `Baseline runtime: **${report.baseline}**. Figures are medians with ${Math.round(report.level * 100)}% percentile-bootstrap confidence intervals in brackets (${report.resamples} resamples, seed ${report.seed}); warm-up and failed invocations are excluded and counted.`,
    '',
  );
  if (report.targets.length > 1) out.push(...sideBySide(report));
  report.targets.forEach((t, i) => {
    out.push(...targetSection(t, report, runs[i]));
    const stages = runs[i]?.stages ?? [];
    if (stages.length) out.push(renderStagesMarkdown(stages, '###'));
  });
  return out.join('\n');
}
