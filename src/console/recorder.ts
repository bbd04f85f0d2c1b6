/**
 * Subscribes a RunDirectory to a Driver: every invocation line, energy record and sample goes to disk
 * as it comes,
 * run.json follows the run's state, and `finish()` writes the summary for whatever was done.
 */
import { ExitCode } from '../errors.js';
import type { EnergyLine, InvocationLine, RunJson, StageLine } from '../protocol/results.js';
import { driftCaveat } from '../meter/baseline-drift.js';
import { joinEnergy } from '../report/energy-join.js';
import { renderStagesMarkdown } from '../report/load-curves.js';
import { renderSummaryMarkdown, summarize, type Summary } from '../report/summary.js';
import { VERSION } from '../version.js';
import type { Driver, DoneEvent } from './driver.js';
import type { RunDirectory } from './run-directory.js';
import { evaluateThresholds, formatThresholdValue, THRESHOLD_MARK, thresholdVerdict, withholdThresholds, type ThresholdResult } from './thresholds.js';

export interface RunOutcome {
  done: DoneEvent;
  summary: Summary;
  thresholds: ThresholdResult[];
  /** summary.md as written. */
  markdown: string;
  /** The exit code the run ends with (thresholds missed → 1, interrupted → 130). */
  exitCode: number;
  /** Every invocation line of the run, as written. */
  lines: readonly InvocationLine[];
}

/** Records a driver's run into `dir`. Returns the lines (in memory, for the summary) and `finish`. */
export function recordRun(driver: Driver, dir: RunDirectory, suiteFile: string | null): { lines: InvocationLine[]; finish: (done: DoneEvent) => RunOutcome } {
  const lines: InvocationLine[] = [];
  const energies: EnergyLine[] = [];
  let run: RunJson | null = null;
  const write = (): void => {
    if (run) dir.writeRun(run);
  };
  driver.on('start', (s) => {
    const { file: _file, ...config } = s.suite;
    run = {
      run_id: s.runId,
      suite: { ...config, name: s.suite.name, file: suiteFile },
      versions: { nebula: VERSION, node: process.version, target: s.health.version },
      target: { url: s.target, health: s.health },
      meter: { spec: s.meter.spec, description: s.meter.description },
      clock: null,
      baseline: { before: null, after: null, drift_w: null },
      runtimes: [...new Set(s.suite.functions.flatMap((f) => f.runtimes))],
      started_at: s.startedAt,
      ended_at: null,
      status: 'running',
      error: null,
    };
    write();
  });
  driver.on('clock', (c) => {
    if (!run) return;
    run.clock = { offset_us: c.offset_us, uncertainty_us: c.uncertainty_us };
    write();
  });
  driver.on('baseline', (b) => {
    if (!run) return;
    run.baseline[b.which] = b.baseline;
    if (b.which === 'after') run.baseline.drift_w = b.driftW;
    write();
  });
  driver.on('invocation', (line) => {
    lines.push(line);
    dir.appendInvocation(line);
  });
  driver.on('energy', (e) => {
    energies.push(e);
    dir.appendEnergy(e);
  });
  const stages: StageLine[] = [];
  driver.on('stage', (line) => {
    stages.push(line);
    dir.appendStage(line);
  });
  driver.on('sample', (s) => dir.appendSample(s));
  driver.on('gap', (g) => dir.appendSample(g));

  const finish = (done: DoneEvent): RunOutcome => {
    dir.flushSamples();
    // Isolated energies against the baseline interpolated between the phases before and after.
    const phases = run ? run.baseline : null;
    const joined = joinEnergy(lines, energies, phases);
    const summary = summarize(joined, { runId: run?.run_id ?? '' });
    const caveat = phases ? driftCaveat(phases, joined) : null;
    if (caveat) summary.caveats = [caveat.message];
    const evaluated = evaluateThresholds(driver.suite.thresholds, joined);
    const thresholds = done.status === 'completed' ? evaluated : withholdThresholds(evaluated, done.status);
    const json = { ...summary, status: done.status, thresholds };
    let markdown = renderSummaryMarkdown(summary);
    if (stages.length) markdown += `\n${renderStagesMarkdown(stages)}`;
    if (thresholds.length) {
      markdown += `\n## Thresholds\n\n${thresholds
        .map((t) => `- ${THRESHOLD_MARK[thresholdVerdict(t)]} ${t.label}: ${formatThresholdValue(t)}`)
        .join('\n')}\n`;
    }
    if (done.status !== 'completed') markdown += `\nRun ${done.status}${done.error ? `: ${done.error}` : ''}.\n`;
    dir.writeSummary(json, markdown);
    if (run) {
      if (done.meter) run.meter.observed = done.meter;
      run.status = done.status;
      run.ended_at = done.endedAt;
      run.error = done.error;
      write();
    }
    dir.close();
    // An unfinished run keeps its own code (130 interrupted, 3 unreachable…): its thresholds were not judged.
    const missed = thresholds.some((t) => t.judged && !t.passed);
    const exitCode = done.exitCode !== ExitCode.Ok ? done.exitCode : missed ? ExitCode.Failures : ExitCode.Ok;
    return { done, summary, thresholds, markdown, exitCode, lines };
  };
  return { lines, finish };
}
