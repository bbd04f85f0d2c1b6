/**
 * The driver runs a suite against a target: clock offset, baseline before, warm-up,
 * the invocations in plan order, baseline after, with the meter's sampler running alongside. It only
 * emits events — the run directory, the --ci printer and the Ink UI subscribe; none of them drives.
 *
 * An invocation's line is emitted as soon as it completes. Its energy needs samples after the
 * window's end (interpolation at the edge), so the energy ledger (energy-ledger.ts) holds it until the
 * meter has read past it and hands back an `energy` record then; at the end the driver waits
 * (bounded) for the meter to cover the last windows before stopping the sampler. A meter outage thus
 * delays energy records, never invocation lines.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { TargetClient } from '../client/target.js';
import { ExitCode, NebulaError, TargetError, describeError } from '../errors.js';
import type { Health, Runtime } from '../protocol/api.js';
import { outcomeOf, type Baseline, type EnergyLine, type Gap, type InvocationLine, type Sample, type StageLine } from '../protocol/results.js';
import type { MeterObserved } from '../meter/meter-observer.js';
import { estimateOffset, type OffsetEstimate } from './clock-offset.js';
import { EnergyLedger, type Attribution } from './energy-ledger.js';
import { plannedLoadRequests, runLoad } from './load/runner.js';
import type { StageStatus } from './load/tally.js';
import { planInvocations, type PlannedInvocation } from './plan.js';
import { failedRequest } from './request-failure.js';
import type { Suite } from './suite.js';
import { wakeableDelay } from '../timers.js';

/**
 * With `settle: auto`, how long one GET /settled may wait on the server. A server still busy after it
 * (a stuck clean-up) does not hold the run: the line records `settled: false`.
 */
export const SETTLE_WAIT_MS = 10_000;

/** The sampler as the driver sees it (src/meter's Sampler satisfies it). */
export interface SampleSource {
  on(event: 'sample', listener: (sample: Sample) => void): unknown;
  on(event: 'gap', listener: (gap: Gap) => void): unknown;
  off(event: 'sample' | 'gap', listener: () => void): unknown;
  start(): unknown;
  stop(): unknown;
}

export interface DriverMeter {
  spec: string;
  description: string | null;
  source: SampleSource;
  attribution: Attribution;
}

export interface DriverOptions {
  suite: Suite;
  client: TargetClient;
  runId: string;
  health: Health;
  /** Bench clock, µs since the epoch: the only clock the driver reads (stamps, ETA, refresh timing). */
  nowUs: () => number;
  meter: DriverMeter | null;
  /** Re-estimate the clock offset this often during the run. */
  clockRefreshMs?: number;
  /** Clock round trips per estimate. */
  clockRounds?: number;
  /** Wait before retrying a request the target did not answer (grows linearly per attempt). */
  retryDelayMs?: number;
  /**
   * At the end, how long to wait for the meter to read past the last held windows before stopping it
   * (default: 2 s — the sampler's read timeout — plus one sampling interval).
   */
  drainMs?: number;
}

export type Phase = 'clock' | 'baseline-before' | 'warmup' | 'measure' | 'baseline-after' | 'finishing';
export type RunStatus = 'completed' | 'interrupted' | 'failed';

export interface StartEvent {
  runId: string;
  suite: Suite;
  target: string;
  health: Health;
  meter: { spec: string; description: string | null };
  total: number;
  startedAt: string;
}
export interface PhaseEvent {
  phase: Phase;
  /** Length of a timed phase (baselines), s. */
  seconds?: number;
}
export interface ProgressEvent {
  done: number;
  total: number;
  failed: number;
  /** Estimated time to the end, ms (null until one invocation has finished). */
  etaMs: number | null;
  paused: boolean;
}
export interface DriverErrorEvent {
  message: string;
  /** True when the run stops because of it. */
  fatal: boolean;
  seq?: number;
}
export interface BaselineEvent {
  which: 'before' | 'after';
  baseline: Baseline;
  driftW: number | null;
}
export interface DoneEvent {
  /** What the samples showed about the meter (null without one). */
  meter?: MeterObserved | null;
  status: RunStatus;
  error: string | null;
  exitCode: number;
  endedAt: string;
  invocations: number;
  failed: number;
}

export interface DriverEventMap {
  start: [StartEvent];
  phase: [PhaseEvent];
  clock: [OffsetEstimate];
  baseline: [BaselineEvent];
  invocation: [InvocationLine];
  /** The energy of an earlier invocation, once the meter has read past its window. */
  energy: [EnergyLine];
  sample: [Sample];
  gap: [Gap];
  error: [DriverErrorEvent];
  progress: [ProgressEvent];
  /** Under load: the stage being driven, live (about twice a second) and once when it finishes. */
  load: [StageStatus];
  /** Under load: a finished stage with its energy (a line of stages.jsonl). */
  stage: [StageLine];
  done: [DoneEvent];
}

/** Runs a suite and emits what happens. Create, subscribe, then `await run()`. */
export class Driver extends EventEmitter<DriverEventMap> {
  readonly plan: PlannedInvocation[];
  readonly suite: Suite;
  readonly #o: Required<Omit<DriverOptions, 'meter'>> & { meter: DriverMeter | null };
  #offset: OffsetEstimate | null = null;
  /** Aborts the request in flight on a forced stop (stop() called twice). */
  readonly #abort = new AbortController();
  readonly #ledger: EnergyLedger | null;
  #sampled = false;
  #baselineSamples: Sample[] | null = null;
  #stopped = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #drained: (() => void) | null = null;
  #done = 0;
  #failed = 0;
  #emitted = 0;
  #startedMs = 0;
  #plannedTotal: number | null = null;
  /** False once the target answered that it has no GET /settled (an older server): no more asking. */
  #canSettle = true;
  #canPrepare = true;
  /** The runtime of the invocation sent last (`predecessor` of the next line). */
  #previous: Runtime | null = null;

  constructor(options: DriverOptions) {
    super();
    this.#o = { clockRefreshMs: 30_000, clockRounds: 8, retryDelayMs: 250, drainMs: 2000 + (options.suite.meter_interval_ms ?? 0), ...options };
    this.suite = options.suite;
    this.plan = planInvocations(options.suite);
    this.#ledger = options.meter ? new EnergyLedger(options.meter.attribution) : null;
    // An 'error' event with no listener would throw; run errors are reported through `done` too.
    this.on('error', () => {});
    // Every request in flight listens for the forced stop: under load that is hundreds at once.
    setMaxListeners(0, this.#abort.signal);
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Holds the run after the invocation in flight; the sampler keeps going. */
  pause(): void {
    if (this.#paused || this.#stopped) return;
    this.#paused = true;
    this.#emitProgress();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
    this.#resume = null;
    this.#emitProgress();
  }

  /** Stops after the invocation in flight; what was measured is kept and the run ends "interrupted". */
  /**
   * Stops after the invocation in flight. Called again while stopping (a second Ctrl-C or q), it
   * aborts that invocation too: its line is recorded as aborted and the run ends at once.
   */
  stop(): void {
    if (this.#stopped) this.#abort.abort();
    this.#stopped = true;
    this.#paused = false;
    this.#resume?.();
    this.#wake?.();
  }

  /** Runs the whole suite. Never rejects: failures end the run with status "failed" and an exit code. */
  async run(): Promise<DoneEvent> {
    const { suite, client, meter } = this.#o;
    this.emit('start', {
      runId: this.#o.runId,
      suite,
      target: client.url.origin,
      health: this.#o.health,
      meter: { spec: meter?.spec ?? 'none', description: meter?.description ?? null },
      total: this.#total(),
      startedAt: this.#isoNow(),
    });
    let status: RunStatus = 'completed';
    let error: string | null = null;
    let exitCode: number = ExitCode.Ok;
    this.#startedMs = this.#nowMs();
    try {
      this.emit('phase', { phase: 'clock' });
      await this.#refreshClock();
      if (meter) {
        meter.source.on('sample', (s) => this.#onSample(s));
        meter.source.on('gap', (g) => this.#onGap(g));
        meter.source.start();
        // Windows before the first reading cannot be integrated ("not covered"): without a baseline
        // phase the first invocations would otherwise race the meter's first read.
        await this.#firstSample(meter.source, this.#o.drainMs);
      }
      let before: Baseline | null = null;
      if (meter && suite.baseline && suite.baseline.seconds > 0) {
        before = await this.#measureBaseline('before', suite.baseline.seconds, null);
        this.#ledger?.setBaseline(before.power_w, before);
      }
      let lastClock = this.#nowMs();
      let phase: Phase | null = null;
      if (suite.load !== 'sequential') {
        this.emit('phase', { phase: 'measure' });
        await this.#runLoad(before);
      }
      for (let seq = 0; seq < this.plan.length && !this.#stopped && suite.load === 'sequential'; seq++) {
        const planned = this.plan[seq]!;
        const wanted: Phase = planned.warmup ? 'warmup' : 'measure';
        if (wanted !== phase) this.emit('phase', { phase: (phase = wanted) });
        await this.#waitWhilePaused();
        if (this.#stopped) break;
        if (this.#nowMs() - lastClock >= this.#o.clockRefreshMs) {
          await this.#refreshClock();
          lastClock = this.#nowMs();
        }
        await this.#invokeWithRetries(seq, planned);
        this.#done++;
        this.#emitProgress();
      }
      if (this.#stopped) {
        status = 'interrupted';
        exitCode = ExitCode.Interrupted;
      }
      if (!this.#stopped && meter && suite.baseline && suite.baseline.seconds > 0 && suite.baseline.after) {
        await this.#measureBaseline('after', suite.baseline.seconds, before);
      }
    } catch (e) {
      status = 'failed';
      // Only a NebulaError knows its exit code; anything else (a full disk, a bug) is not "unreachable".
      error = e instanceof NebulaError ? describeError(e) : `unexpected error (this is a bug or a local I/O failure): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      exitCode = e instanceof NebulaError ? e.exitCode : ExitCode.Bug;
      this.emit('error', { message: error, fatal: true });
    }
    this.emit('phase', { phase: 'finishing' });
    if (meter) {
      // Without this the last lines would be attributed from samples that end before their windows do
      // (power held constant past the last read): give the meter time for one read past them.
      await this.#drainPending(this.#o.drainMs);
      await meter.source.stop();
    }
    if (this.#ledger) this.#emitEnergy(this.#ledger.flush());
    if (status === 'completed' && this.#failed > 0) exitCode = ExitCode.Failures;
    const done: DoneEvent = {
      meter: this.#ledger ? this.#ledger.observer.facts() : null,
      status,
      error,
      exitCode,
      endedAt: this.#isoNow(),
      invocations: this.#emitted,
      failed: this.#failed,
    };
    this.emit('done', done);
    return done;
  }

  /** Invocations the run will make (under open-loop load: requests it will schedule). */
  #total(): number {
    this.#plannedTotal ??= this.suite.load === 'sequential' ? this.plan.length : plannedLoadRequests(this.suite);
    return this.#plannedTotal;
  }

  /** The `load:` section (src/console/load/): lines are emitted as they complete, energy is per stage. */
  async #runLoad(baseline: Baseline | null): Promise<void> {
    const { client, meter } = this.#o;
    // Under load failures can come by the thousand: report at most one a second (all are in the lines).
    let lastErrorMs = 0;
    await runLoad({
      suite: this.suite,
      runId: this.#o.runId,
      nowUs: this.#o.nowUs,
      sleep: (ms) => this.#sleep(ms),
      stopped: () => this.#stopped,
      invoke: (name, input, runtime) => client.invokeUnderLoad(name, input, runtime, this.#abort.signal),
      clock: () => (this.#offset ? { offset_us: this.#offset.offset_us, uncertainty_us: this.#offset.uncertainty_us } : null),
      refreshClock: () => this.#refreshClock(),
      emitLine: (line) => {
        const outcome = outcomeOf(line);
        if (outcome === 'failed' && !line.warmup) this.#failed++;
        if (outcome === 'failed' && this.#nowMs() - lastErrorMs >= 1000) {
          lastErrorMs = this.#nowMs();
          this.emit('error', { message: `${line.function} on ${line.runtime} (input ${line.input}): ${line.error ?? 'failed'}`, fatal: false, seq: line.seq });
        }
        this.#done++;
        // Not through the ledger: under load the windows overlap; energy is per stage (the `stage` event).
        this.#emitLine(line, false);
        this.#emitProgress();
      },
      emitStatus: (status) => this.emit('load', status),
      emitStage: (line) => this.emit('stage', line),
      meter: meter ? { events: this, attribution: meter.attribution, baseline, drainMs: this.#o.drainMs } : null,
    });
  }

  async #refreshClock(): Promise<void> {
    this.#offset = await estimateOffset(this.#o.client, this.#o.nowUs, this.#o.clockRounds);
    this.emit('clock', this.#offset);
  }

  async #measureBaseline(which: 'before' | 'after', seconds: number, before: Baseline | null): Promise<Baseline> {
    this.emit('phase', { phase: which === 'before' ? 'baseline-before' : 'baseline-after', seconds });
    this.#baselineSamples = [];
    await this.#sleep(seconds * 1000);
    const baseline = this.#ledger!.baseline(this.#baselineSamples);
    this.#baselineSamples = null;
    const driftW = before?.power_w != null && baseline.power_w != null ? baseline.power_w - before.power_w : null;
    this.emit('baseline', { which, baseline, driftW });
    return baseline;
  }

  /**
   * Waits before an invocation as the suite's `settle` says (docs/methodology.md, "Settling"): `auto`
   * asks the server to answer once nothing of an earlier invocation still runs there; a number pauses.
   */
  async #settle(): Promise<InvocationLine['settle']> {
    const { settle } = this.suite;
    if (settle === 0) return undefined;
    if (settle !== 'auto') {
      const from = this.#o.nowUs();
      await this.#sleep(settle);
      return { waited_us: this.#o.nowUs() - from, settled: null };
    }
    if (!this.#canSettle) return undefined;
    try {
      const answer = await this.#o.client.settled(SETTLE_WAIT_MS, this.#abort.signal);
      return { waited_us: answer.waited_us, settled: answer.settled };
    } catch (e) {
      if (e instanceof TargetError && e.status === 404) {
        this.#canSettle = false;
        this.emit('error', {
          message: `the target has no GET /settled (an older nebula serve): invocations start without waiting for it to settle (${describeError(e)})`,
          fatal: false,
        });
      }
      // Unreachable: the invocation's own request finds out and retries.
      return undefined;
    }
  }

  /**
   * Before a prewarmed call: asks the runtime to prepare an instance unless one is (the first call of
   * a function, or one discarded since), so the measured call finds it; the server answers at once
   * when one is held. The result's `prepared` still says whether the call found one.
   */
  async #prepare(planned: PlannedInvocation): Promise<void> {
    if (planned.mode !== 'prewarmed' || !this.#canPrepare) return;
    try {
      await this.#o.client.prepare(planned.function, planned.runtime, this.#abort.signal);
    } catch (e) {
      // An older server answers 405 (no such route for POST).
      if (e instanceof TargetError && e.status === 405) {
        this.#canPrepare = false;
        this.emit('error', { message: `the target cannot prepare instances (an older nebula serve): prewarmed calls run as it starts them (${describeError(e)})`, fatal: false });
      }
      // Anything else: the invocation's own request finds out.
    }
  }

  async #invokeWithRetries(seq: number, planned: PlannedInvocation): Promise<void> {
    const { client, nowUs, suite } = this.#o;
    await this.#prepare(planned);
    const settle = await this.#settle();
    const mode = planned.mode ?? 'cold';
    const predecessor = this.#previous;
    this.#previous = planned.runtime;
    const extra = { ...(settle ? { settle } : {}), predecessor };
    for (let attempt = 0; ; attempt++) {
      const sent = nowUs();
      let result: Awaited<ReturnType<TargetClient['invoke']>>;
      try {
        result = await client.invoke(planned.function, planned.input, planned.runtime, this.#abort.signal, mode);
      } catch (e) {
        const replied = nowUs();
        const failed = { ...failedRequest(planned, e), mode };
        const message = failed.error ?? describeError(e);
        const code = failed.request_error?.code;
        const status = failed.request_error?.status;
        this.#failedIfMeasured(planned);
        this.#emitLine(Object.assign(this.#lineFor(seq, planned, sent, replied, failed), extra));
        this.emit('error', { message: `${planned.function} on ${planned.runtime} (input ${planned.input}): ${message}`, fatal: false, seq });
        // An answer with a status (404, 504…) is the target working; no answer at all is the target gone
        // — unless we aborted the request ourselves (a forced stop).
        if (status !== undefined || code === 'aborted') return;
        if (attempt >= suite.retries || this.#stopped) {
          throw new TargetError(
            `the target ${client.url.origin} stopped answering: ${message} (${attempt + 1} attempt${attempt ? 's' : ''} for seq ${seq})`,
            { code: 'target-lost', hint: 'Check that `nebula serve` is still running there; everything measured so far is kept in the run directory.' },
          );
        }
        await this.#sleep(this.#o.retryDelayMs * (attempt + 1));
        continue;
      }
      // Outside the try: a failure to record the line (a full disk) is not the target failing.
      const replied = nowUs();
      if (!result.ok) this.#failedIfMeasured(planned);
      this.#emitLine(Object.assign(this.#lineFor(seq, planned, sent, replied, result), extra));
      return;
    }
  }

  #failedIfMeasured(planned: PlannedInvocation): void {
    if (!planned.warmup) this.#failed++;
  }

  #lineFor(
    seq: number,
    planned: PlannedInvocation,
    sent: number,
    replied: number,
    result: Omit<InvocationLine, 'run_id' | 'seq' | 'rep' | 'warmup' | 'client' | 'clock' | 'energy' | 'energy_thesis'>,
  ): InvocationLine {
    const clock = this.#offset ? { offset_us: this.#offset.offset_us, uncertainty_us: this.#offset.uncertainty_us } : null;
    // Object.assign, not a spread followed by properties (~40 µs on Node 20, docs/performance.md).
    return Object.assign({}, result, {
      run_id: this.#o.runId,
      seq,
      rep: planned.rep,
      warmup: planned.warmup,
      client: { sent_us: sent, replied_us: replied },
      clock,
    });
  }

  #onSample(sample: Sample): void {
    this.#sampled = true;
    this.#baselineSamples?.push(sample);
    this.emit('sample', sample);
    this.#emitEnergy(this.#ledger!.addSample(sample));
  }

  #onGap(gap: Gap): void {
    this.emit('gap', gap);
    this.#emitEnergy(this.#ledger!.addGap(gap));
  }

  #emitEnergy(records: readonly EnergyLine[]): void {
    for (const record of records) this.emit('energy', record);
    if (this.#ledger?.pending === 0) this.#drained?.();
  }

  /** Resolves on the meter's first sample or gap, or after `limitMs` (a dead meter shows as a gap later). */
  async #firstSample(source: SampleSource, limitMs: number): Promise<void> {
    if (this.#sampled) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        source.off('sample', done);
        source.off('gap', done);
        resolve();
      };
      const timer = setTimeout(done, limitMs);
      source.on('sample', done);
      source.on('gap', done);
    });
  }

  /** Waits until the meter has read past every finished window, at most `limitMs`. */
  async #drainPending(limitMs: number): Promise<void> {
    if (!this.#ledger?.pending) return;
    const delay = wakeableDelay(limitMs);
    this.#drained = delay.wake;
    await delay.done;
    this.#drained = null;
  }

  /** Emits a finished invocation's line at once; its energy (when `attribute`) follows as an `energy` event. */
  #emitLine(line: InvocationLine, attribute = true): void {
    this.#emitted++;
    this.emit('invocation', line);
    if (this.#ledger && attribute) this.#emitEnergy(this.#ledger.addInvocation(line));
  }

  #emitProgress(): void {
    const total = Math.max(this.#done, this.#total());
    const elapsed = this.#nowMs() - this.#startedMs;
    const etaMs = this.#done > 0 ? Math.round((elapsed / this.#done) * (total - this.#done)) : null;
    this.emit('progress', { done: this.#done, total, failed: this.#failed, etaMs, paused: this.#paused });
  }

  async #waitWhilePaused(): Promise<void> {
    while (this.#paused && !this.#stopped) {
      await new Promise<void>((resolve) => (this.#resume = resolve));
    }
  }

  /** The injected bench clock in ms: the driver reads no other clock (tests run it on a fake one). */
  #nowMs(): number {
    return this.#o.nowUs() / 1000;
  }

  #isoNow(): string {
    return new Date(this.#nowMs()).toISOString();
  }

  /** A sleep that stop() cuts short. */
  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    const delay = wakeableDelay(ms);
    this.#wake = delay.wake;
    await delay.done;
    this.#wake = null;
  }
}
