/**
 * Drives a suite's `load:` section (docs/suites.md, "Load"): runtime after runtime — so each stage's
 * energy belongs to one runtime — its warm-ups one at a time, then each stage, open or closed loop,
 * cycling through the runtime's (function, input) mix. Between stages everything in flight has
 * returned and the clock offset is re-estimated. It reports through the context: every line, the live
 * stage status (`load`), and each finished stage with its energy (`stage`, a stages.jsonl line).
 */
import type { EventEmitter } from 'node:events';
import type { Runtime } from '../../protocol/api.js';
import type { Baseline, ClockEstimate, StageLine } from '../../protocol/results.js';
import type { DriverEventMap } from '../driver.js';
import type { Attribution } from '../energy-ledger.js';
import type { ResultPart } from '../request-failure.js';
import type { Suite } from '../suite.js';
import { runClosedStage } from './closed-loop.js';
import { MeterWindow } from './meter-window.js';
import { runOpenStage } from './open-loop.js';
import type { Pace } from './pacer.js';
import { sendOne, type SenderContext, type WorkItem } from './sender.js';
import { stageEnergy } from './stage-energy.js';
import { arrivalOffsets } from './schedule.js';
import { stagesOf } from './stages.js';
import type { StageStatus, StageTally } from './tally.js';

export interface LoadContext extends SenderContext, Pace {
  suite: Suite;
  invoke: (name: string, input: string, runtime: Runtime) => Promise<ResultPart>;
  clock: () => ClockEstimate | null;
  refreshClock: () => Promise<void>;
  emitStatus: (status: StageStatus) => void;
  emitStage: (line: StageLine) => void;
  /** The driver's events, for the meter's samples (null without a meter). */
  meter: { events: EventEmitter<DriverEventMap>; attribution: Attribution; baseline: Baseline | null; drainMs: number } | null;
  /** How often the live status is emitted while a stage runs. */
  statusEveryMs?: number;
}

/** The runtimes in the suite's order (a function's own list included). */
export function loadRuntimes(suite: Pick<Suite, 'functions'>): Runtime[] {
  return [...new Set(suite.functions.flatMap((f) => f.runtimes))];
}

/** Requests a load section will schedule (closed loop: unknown, counted as 0), warm-ups included. */
export function plannedLoadRequests(suite: Suite): number {
  let total = 0;
  for (const runtime of loadRuntimes(suite)) {
    total += suite.warmup * suite.functions.filter((f) => f.runtimes.includes(runtime)).length;
    for (const s of stagesOf(suite.load)) if (s.mode === 'open') total += arrivalOffsets(s.rate, s.seconds, s.arrivals, s.seed).length;
  }
  return total;
}

/** Runs every stage on every runtime. Resolves when done or stopped; a request failure never rejects it. */
export async function runLoad(ctx: LoadContext): Promise<void> {
  const { suite } = ctx;
  const stages = stagesOf(suite.load);
  const window = ctx.meter ? new MeterWindow(ctx.meter.events) : null;
  let seq = 0;
  const nextSeq = (): number => seq++;
  try {
    for (const runtime of loadRuntimes(suite)) {
      const fns = suite.functions.filter((f) => f.runtimes.includes(runtime));
      const items: WorkItem[] = fns.flatMap((f) => f.inputs.map((input) => ({ function: f.name, input })));
      for (let w = 0; w < suite.warmup && !ctx.stopped(); w++) {
        for (const f of fns) await sendOne(ctx, runtime, { function: f.name, input: f.inputs[0] ?? '' }, nextSeq(), null, null);
      }
      for (const spec of stages) {
        if (ctx.stopped()) return;
        await ctx.refreshClock();
        let current: StageTally | null = null;
        const onStart = (t: StageTally): void => {
          current = t;
          window?.keepFrom(t.startUs);
          ctx.emitStatus(t.live(t.startUs));
        };
        const timer = setInterval(() => {
          if (current) ctx.emitStatus(current.live(ctx.nowUs()));
        }, ctx.statusEveryMs ?? 500);
        let tally: StageTally;
        try {
          tally =
            spec.mode === 'open'
              ? await runOpenStage(ctx, spec, runtime, items, nextSeq, stages.length, onStart)
              : await runClosedStage(ctx, spec, runtime, items, nextSeq, stages.length, onStart);
        } finally {
          clearInterval(timer);
        }
        ctx.emitStatus(tally.live(ctx.nowUs(), true));
        let energy = null;
        if (ctx.meter && window) {
          const w = { span: 'stage' as const, start_us: tally.startUs, end_us: tally.endUs };
          await window.coveredPast(w.end_us, ctx.meter.drainMs, ctx.sleep);
          // The stage's edges are bench-clock stamps: no clock-offset term.
          const whole = ctx.meter.attribution.integrated(window.samples, w, ctx.meter.baseline?.power_w ?? null, { gaps: window.gaps });
          energy = stageEnergy(whole, window.powersIn(w.start_us, w.end_us), ctx.meter.baseline, w.end_us - w.start_us, tally.completed);
        }
        ctx.emitStage(tally.line(ctx.runId, energy));
      }
    }
  } finally {
    window?.close();
  }
}
