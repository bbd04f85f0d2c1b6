/** `nebula report RUN_DIR|THESIS_FILE.json...`: statistics and the wasm-vs-container comparison in md/csv/json/html/thesis. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { numberFlag } from './flags.js';
import { RUNTIMES, RuntimeSchema, type Runtime } from '../protocol/api.js';
import { compareBeforeAfter, regressions } from '../report/before-after.js';
import { renderChanges } from '../report/before-after-text.js';
import { buildReportParallel } from '../report/compare.js';
import { pValue } from '../report/format.js';
import { EXPORTERS, FORMATS, type Format } from '../report/export/index.js';
import { thesisRecords } from '../report/export/thesis.js';
import { formatWarning, loadRuns, type LoadedRun, type RunWarning } from '../report/load.js';
import { countLines } from '../report/summary.js';

export interface ReportFlags {
  format?: string;
  out?: string;
  baseline?: string;
  seed?: string;
  resamples?: string;
  compare?: boolean;
  failAbove?: string;
}

/** --fail-above "10%" or "10" → 0.1. */
function percentFlag(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = numberFlag(raw.replace(/%$/, ''), '--fail-above', { min: 0 });
  return value === undefined ? undefined : value / 100;
}

/** `--compare BASE NEW`: the change of every metric with its interval and p; exit 1 on a regression past --fail-above. */
async function compareCommand(dirs: string[], flags: ReportFlags, seed: number, resamples: number): Promise<number> {
  const failAbove = percentFlag(flags.failAbove);
  if (dirs.length !== 2) throw new UsageError(`--compare takes two run directories (BASE NEW), got ${dirs.length}`, { hint: 'nebula report --compare results/<before> results/<after>' });
  const [base, next] = await loadRuns(dirs);
  if (!base || !next) throw new UsageError('--compare: the runs could not be loaded');
  for (const run of [base, next]) for (const w of run.warnings) process.stderr.write(`nebula: warning: ${warningLine(run, w)}\n`);
  const changes = compareBeforeAfter(base.invocations, next.invocations, { seed, resamples });
  const text = renderChanges(changes, { base: base.dir, next: next.dir, failAbove });
  await writeOut(text, flags.out ?? '-');
  if (failAbove === undefined) return ExitCode.Ok;
  const failed = regressions(changes, failAbove);
  for (const c of failed) {
    process.stderr.write(`nebula: regression: ${c.function} ${c.runtime}${c.mode ? ' prewarmed' : ''} ${c.metric} +${(c.change.estimate * 100).toFixed(1)}% (p=${pValue(c.p)}) is above --fail-above ${flags.failAbove}\n`);
  }
  return failed.length ? ExitCode.Failures : ExitCode.Ok;
}

/** A warning with where it is: the run directory's file, or the thesis file itself. */
function warningLine(run: LoadedRun, w: RunWarning): string {
  return run.thesis ? `${run.dir}: ${w.message}` : path.join(run.dir, formatWarning(w));
}

/** Writes to --out, or stdout for "-". */
async function writeOut(text: string, out: string): Promise<void> {
  if (out === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(out, text);
  } catch (error) {
    throw new UsageError(`--out ${out}: cannot write (${(error as Error).message})`, { cause: error });
  }
  process.stderr.write(`nebula: wrote ${out}\n`);
}


/**
 * Progress on stderr for a report that takes a while: one status line, rewritten in place, shown only
 * when stderr is a terminal (logs and pipes get nothing) and only once the report has taken over 1 s
 * (a small run prints nothing). `clear()` erases it before anything else is written.
 */
function progressLine(stream: NodeJS.WriteStream = process.stderr): { stage: (text: string) => void; clear: () => void } {
  const started = Date.now();
  let shown = false;
  let last = '';
  const show = (): void => {
    if (!stream.isTTY || Date.now() - started < 1000) return;
    shown = true;
    stream.write(`\r\x1b[K${last}`);
  };
  return {
    stage: (text) => {
      last = text;
      show();
    },
    clear: () => {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** Loads the runs, prints their warnings on stderr, and writes the report to --out (or stdout). */
export async function reportCommand(dirs: string[], flags: ReportFlags): Promise<number> {
  const format = (flags.format ?? 'md') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${flags.format}"`);
  const parsed = RuntimeSchema.safeParse(flags.baseline ?? 'wasm');
  if (!parsed.success) throw new UsageError(`--baseline must be one of ${RUNTIMES.join(', ')}, got "${flags.baseline}"`);
  const baseline: Runtime = parsed.data;
  const seed = numberFlag(flags.seed, '--seed', { min: 0, integer: true }) ?? 1;
  const resamples = numberFlag(flags.resamples, '--resamples', { min: 100, integer: true }) ?? 2000;
  if (dirs.length === 0) throw new UsageError('no run directory given', { hint: 'nebula report results/<suite>-<stamp>' });
  if (flags.compare) return compareCommand(dirs, flags, seed, resamples);
  if (flags.failAbove !== undefined) throw new UsageError('--fail-above goes with --compare BASE NEW');

  const progress = progressLine();
  progress.stage(`report: loading ${dirs.length === 1 ? dirs[0] : `${dirs.length} runs`}…`);
  const runs = await loadRuns(dirs);
  progress.clear();
  for (const run of runs) for (const w of run.warnings) process.stderr.write(`nebula: warning: ${warningLine(run, w)}\n`);
  const unusable = runs.filter((run) => countLines(run.invocations).measured === 0);
  for (const run of unusable) process.stderr.write(`nebula: error: ${noUsableInvocation(run)}\n`);
  if (unusable.length === runs.length) return ExitCode.Failures;
  for (const run of runs) {
    if (run.invocations.length > 0 && !run.invocations.some((l) => l.runtime === baseline)) {
      process.stderr.write(`nebula: warning: ${run.dir}: no "${baseline}" invocations, so no ratios (choose another with --baseline)\n`);
    }
  }
  if (format === 'thesis') {
    const { skipped } = thesisRecords(runs);
    if (skipped) process.stderr.write(`nebula: warning: ${skipped} measured invocations of runtimes other than wasm and docker are not in the thesis format\n`);
  }
  let text: string;
  try {
    const report = await buildReportParallel(runs, {
      baseline,
      seed,
      resamples,
      onProgress: (done, total) => progress.stage(`report: bootstrapping ${total} intervals (${resamples} resamples each)… ${done}/${total}`),
    });
    progress.stage(`report: writing ${format}…`);
    text = EXPORTERS[format]({ report, runs });
  } finally {
    progress.clear();
  }
  await writeOut(text, flags.out ?? '-');
  // The report of the other runs is written, but a run with nothing usable is a failure to say so.
  return unusable.length ? ExitCode.Failures : ExitCode.Ok;
}

/** Why a run has nothing to report, and what to look at. */
export function noUsableInvocation(run: LoadedRun): string {
  const c = countLines(run.invocations);
  const what = run.thesis ? 'thesis file' : 'run';
  if (c.invocations === 0) {
    return `${run.dir}: no usable invocation — the ${what} holds no invocation${run.warnings.length ? ` (${run.warnings.length} warning${run.warnings.length > 1 ? 's' : ''} above say what was skipped)` : ''}; nothing to report`;
  }
  return `${run.dir}: no usable invocation — ${c.invocations} recorded: ${c.warmups} warm-up, ${c.errors} failed${c.dropped ? `, ${c.dropped} dropped` : ''}, none measured; look at the errors in its invocations.jsonl and rerun`;
}
