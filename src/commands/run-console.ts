/**
 * One console run from a validated suite to its exit code: preflight (target, deployments, meter),
 * the run directory, the driver with its recorder and presenter (--ci printer or the lazily loaded
 * Ink UI) and the summary. The composition root of a console run: the only place that picks the
 * presenter and loads the TUI (so src/console/ never imports src/tui/) and sets NODE_ENV for it.
 * Signals are the caller's (./flags.ts `stopOnSignals`). Used by `nebula console`, `bench` and `demo`.
 */
import type { Writable } from 'node:stream';
import { TargetClient, parseTargetUrl } from '../client/target.js';
import { nowUs } from '../clock.js';
import { MeterError, UsageError, describeError } from '../errors.js';
import type { Meter } from '../meter/meter.js';
import { openMeter } from '../meter/open-meter.js';
import { Sampler } from '../meter/sampler.js';
import { attachCiPrinter } from '../console/ci-printer.js';
import { Driver, type DriverMeter } from '../console/driver.js';
import { meterAttribution } from '../console/energy.js';
import { connectionsFor } from '../console/load/stages.js';
import { preflight } from '../console/preflight.js';
import { recordRun, type RunOutcome } from '../console/recorder.js';
import { RunDirectory, runIdFor } from '../console/run-directory.js';
import { renderOutcome } from '../console/terminal-summary.js';
import type { Suite } from '../console/suite.js';
import { escapeControl } from '../terminal-text.js';
import { basename } from 'node:path';

export interface ConsoleRunOptions {
  suite: Suite;
  /** Overrides suite.target. */
  target?: string | undefined;
  /** Overrides suite.meter. */
  meter?: string | undefined;
  token?: string | undefined;
  /** Results root; the run directory is created inside. */
  out: string;
  ci: boolean;
  stdout: Writable;
  stderr: Writable;
  /** What is printed on stdout at the end (default: the 80-column summary). */
  render?: (outcome: RunOutcome, dir: string) => string;
  /** Called with the driver once it exists (the commands hand it to their signal handlers). */
  onDriver?: (driver: Driver) => void;
}

export interface ConsoleRunResult extends RunOutcome {
  dir: string;
}

/** Runs a suite end to end; returns the outcome (exit code inside). Throws NebulaError before the run starts. */
export async function runConsole(options: ConsoleRunOptions): Promise<ConsoleRunResult> {
  const { suite } = options;
  const rawTarget = options.target ?? suite.target;
  if (!rawTarget) {
    throw new UsageError(`suite ${suite.file ?? suite.name} has no target`, { hint: 'Add `target: http://HOST:3090` to the suite or pass --target.' });
  }
  const url = parseTargetUrl(rawTarget, options.target ? '--target' : `${suite.file ?? 'suite'}: target`);
  const connections = connectionsFor(suite.load);
  const client = new TargetClient(url, { token: options.token, timeoutMs: suite.timeout_ms ?? 120_000, ...(connections ? { connections } : {}) });
  const spec = options.meter ?? suite.meter;
  if (spec === 'required') {
    throw new UsageError(`suite ${suite.file ?? suite.name} measures energy and needs a meter: none was given`, {
      hint: 'Pass --meter "modbus://PDU_ADDRESS:502?unit=1&map=gude-epc1105" or set NEBULA_METER (docs/pi-energy.md).',
    });
  }
  let meter: Meter | null = null;
  try {
    const { health } = await preflight(client, suite, options.token);
    meter = await openMeter(spec);
    let driverMeter: DriverMeter | null = null;
    if (meter.kind !== 'none') {
      try {
        await meter.read();
      } catch (error) {
        throw error instanceof MeterError
          ? error
          : new MeterError(`meter ${spec} does not answer: ${describeError(error)}`, { hint: 'Check the meter spec (--meter) and that the meter is reachable.' });
      }
      const sampler = new Sampler(meter, suite.meter_interval_ms ? { intervalMs: suite.meter_interval_ms } : {});
      driverMeter = { spec, description: meter.describe(), source: sampler, attribution: meterAttribution };
    }
    const runDir = RunDirectory.create(options.out, runIdFor(suite.name));
    const runId = basename(runDir.dir);
    const driver = new Driver({ suite, client, runId, health, nowUs, meter: driverMeter });
    const recorder = recordRun(driver, runDir, suite.file);
    options.onDriver?.(driver);

    let tui: { close(): Promise<void> } | null = null;
    if (options.ci) attachCiPrinter(driver, options.stderr);
    else {
      // React's development build (what loads when NODE_ENV is unset) diffs every changed prop on each
      // render for its profiler tracks: with 50k results in a table cell that stalled the loop ~60 ms a
      // frame (bench/console-bench.ts (f): event-loop delay p99 59–79 ms → 11–12 ms with the production build).
      process.env.NODE_ENV ??= 'production';
      // Lazy: only the TUI path loads React and Ink.
      const { renderTui } = await import('../tui/index.js');
      tui = renderTui(driver, runDir.dir, { showChart: driverMeter !== null });
    }
    let outcome: RunOutcome;
    try {
      const done = await driver.run();
      outcome = recorder.finish(done);
    } finally {
      // finish() closes it; this covers a throw inside it (buffered samples still reach disk). Idempotent.
      runDir.close();
      await tui?.close();
    }
    options.stdout.write((options.render ?? renderOutcome)(outcome, runDir.dir));
    if (outcome.done.error) options.stderr.write(`nebula: run ${outcome.done.status}: ${escapeControl(outcome.done.error)}\n`);
    return { ...outcome, dir: runDir.dir };
  } finally {
    await meter?.close();
    await client.close();
  }
}
