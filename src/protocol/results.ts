/**
 * The files of a run directory (docs/results.md): written by the console, read by the report.
 *   run.json · invocations.jsonl · energy.jsonl · samples.jsonl · summary.json · summary.md
 */
import { z } from 'zod';
import { HealthSchema, InvocationResultSchema, RuntimeSchema } from './api.js';

/** One meter reading, timed on the bench clock by the start and end of its read. */
export const SampleSchema = z.object({
  t_start_us: z.number(),
  t_end_us: z.number(),
  power_w: z.number(),
  voltage_v: z.number().optional(),
  current_a: z.number().optional(),
  pf: z.number().optional(),
  energy_wh: z.number().optional(),
  /** The device's own (coarse, whole-watt) power register, kept for comparison. */
  device_power_w: z.number().optional(),
  /** Worst-case quantisation error of power_w, W: half a register step carried through V × I × PF (docs/energy.md). */
  resolution_w: z.number().optional(),
});
export type Sample = z.infer<typeof SampleSchema>;

/** A span with no readings (meter unreachable, timed out): recorded, never papered over. */
export const GapSchema = z.object({
  gap: z.literal(true),
  from_us: z.number(),
  to_us: z.number(),
  reason: z.string(),
});
export type Gap = z.infer<typeof GapSchema>;

/** A line of samples.jsonl. */
export const SampleLineSchema = z.union([GapSchema, SampleSchema]);
export type SampleLine = z.infer<typeof SampleLineSchema>;

export const EnergyMethodSchema = z.enum(['integrated', 'thesis']);

/**
 * Which span of an invocation an energy covers (docs/energy.md, "Windows"): `invocation` = request
 * received → reply at the bench (the thesis' window, cold start included); `run` = the function's
 * own run, started → finished (its end stamp; ended without one).
 */
export const EnergySpanSchema = z.enum(['invocation', 'run', 'stage', 'batch']);
export type EnergySpan = z.infer<typeof EnergySpanSchema>;

/** A window on the bench clock, µs, and what it spans. */
export const EnergyWindowSchema = z.object({ span: EnergySpanSchema, start_us: z.number(), end_us: z.number() });
export type EnergyWindowRecord = z.infer<typeof EnergyWindowSchema>;

/**
 * Energy attributed to one window. Units: W, µWh. `uncertainty_uwh` bounds |energy − truth| from
 * what limits the estimate (sampling holes, register resolution, clock offset; docs/energy.md,
 * "Uncertainty"); `isolated_uncertainty_uwh` adds the baseline's. `measurable: false` marks a window
 * shorter than the meter can resolve alone. The window, uncertainties and `measurable` are absent
 * only in files written before they existed.
 */
export const EnergySchema = z.object({
  method: EnergyMethodSchema,
  window: EnergyWindowSchema.optional(),
  samples: z.number().int(),
  avg_power_w: z.number().nullable(),
  energy_uwh: z.number().nullable(),
  uncertainty_uwh: z.number().nullable().optional(),
  baseline_w: z.number().nullable(),
  isolated_energy_uwh: z.number().nullable(),
  isolated_uncertainty_uwh: z.number().nullable().optional(),
  /** Longest stretch around the window in which the power was not known (read start → next read end), µs. */
  largest_hole_us: z.number().nullable().optional(),
  measurable: z.boolean().optional(),
  note: z.string().nullable(),
});
export type Energy = z.infer<typeof EnergySchema>;

export const ClockEstimateSchema = z.object({
  /** server_clock − bench_clock, µs. */
  offset_us: z.number(),
  /** Half the round trip of the sample the offset came from, µs. */
  uncertainty_us: z.number(),
});
export type ClockEstimate = z.infer<typeof ClockEstimateSchema>;

/**
 * A line of invocations.jsonl: the server's InvocationResult plus the console's bookkeeping, written
 * and flushed as the invocation completes, whatever the meter does. A failed request (target down,
 * timeout) is still a line: `ok:false`, `error`, and `metrics` null. Energy is not in the file: it
 * comes later in energy.jsonl and readers join it by `seq` (docs/results.md); `energy` and
 * `energy_thesis` here are that joined view.
 */
export const InvocationLineSchema = InvocationResultSchema.extend({
  metrics: InvocationResultSchema.shape.metrics.nullable(),
  run_id: z.string(),
  seq: z.number().int(),
  rep: z.number().int(),
  warmup: z.boolean(),
  client: z.object({ sent_us: z.number(), replied_us: z.number() }),
  clock: ClockEstimateSchema.nullable(),
  /** Joined from energy.jsonl (absent: no meter, or the meter never covered the window). */
  energy: EnergySchema.nullable().optional(),
  /** Energy by the thesis method, for comparison, joined from energy.jsonl. */
  energy_thesis: EnergySchema.nullable().optional(),
  /** Energy over the whole invocation (received → replied), joined from energy.jsonl. */
  energy_invocation: EnergySchema.nullable().optional(),
  /** Set when the request itself failed (no InvocationResult from the server); code "dropped" under load. */
  request_error: z.object({ code: z.string(), message: z.string(), status: z.number().optional() }).optional(),
  /**
   * How the invocation was started (docs/methodology.md, "Settling"): `waited_us` before it was sent,
   * `settled` whether the server said it was settled (null for a fixed pause). Absent when the suite
   * had `settle: 0`, under load, and in runs from before settling existed.
   */
  settle: z.object({ waited_us: z.number(), settled: z.boolean().nullable() }).optional(),
  /** The runtime of the invocation sent just before this one in the run (null for the first). */
  predecessor: RuntimeSchema.nullable().optional(),
  /** Under load: the index of the load stage (docs/results.md, "Load"). */
  stage: z.number().int().optional(),
  /** Under load: when the request was scheduled to be sent, bench clock µs; latency counts from here. */
  intended_us: z.number().optional(),
  /**
   * Only on a line imported from a thesis result file (src/report/thesis-import.ts): the record's own
   * fields that have no home in a line, kept so `--format thesis` writes the record back unchanged.
   */
  thesis: z
    .object({
      base_image: z.string().nullable(),
      startup_percentage: z.number().nullable(),
      average_power: z.number().nullable(),
      average_power_isolated: z.number().nullable(),
      energy_consumption_wh: z.number().nullable(),
      energy_consumption_isolated_wh: z.number().nullable(),
    })
    .optional(),
});
export type InvocationLine = z.infer<typeof InvocationLineSchema>;

/**
 * A line of energy.jsonl: the energy of invocation `seq`, appended once the meter has read past its
 * window (so after its line in invocations.jsonl; a meter outage delays it, never the invocation).
 * Energies are null for a line without server stamps (a failed request).
 */
export const EnergyLineSchema = z.object({
  run_id: z.string(),
  seq: z.number().int(),
  /** The function's own run (started → finished), integrated. */
  energy: EnergySchema.nullable(),
  /** The thesis method over the invocation window, for comparison. */
  energy_thesis: EnergySchema.nullable(),
  /** The whole invocation (received → replied), integrated (absent in files written before it existed). */
  energy_invocation: EnergySchema.nullable().optional(),
});
export type EnergyLine = z.infer<typeof EnergyLineSchema>;
/** The request_error code of a request the load generator did not send (max_in_flight reached). */
export const DROPPED = 'dropped';

/** How a line ends for load accounting: every scheduled request is exactly one of these. */
export type Outcome = 'completed' | 'failed' | 'dropped';

/** completed: the function ran and succeeded; dropped: never sent; failed: everything else. */
export function outcomeOf(line: Pick<InvocationLine, 'ok' | 'request_error'>): Outcome {
  if (line.request_error?.code === DROPPED) return 'dropped';
  return line.ok ? 'completed' : 'failed';
}

/** Latency percentiles of a stage, µs, counted from each request's intended send time. */
export const StageLatencySchema = z.object({
  n: z.number().int(),
  p50_us: z.number().nullable(),
  p90_us: z.number().nullable(),
  p99_us: z.number().nullable(),
  max_us: z.number().nullable(),
});

/**
 * Energy of a load stage: `Energy` of the stage's whole window, plus energy per completed invocation =
 * (stage energy − baseline power × stage duration) / completed, and its standard uncertainty.
 */
export const StageEnergySchema = EnergySchema.extend({
  /** isolated_energy_uwh / completed (null without a baseline or with nothing completed). */
  per_invocation_uwh: z.number().nullable(),
  /** One standard uncertainty of per_invocation_uwh (docs/results.md, "Load"). */
  per_invocation_uncertainty_uwh: z.number().nullable(),
  /** energy_uwh / completed: without the idle baseline taken out. */
  gross_per_invocation_uwh: z.number().nullable(),
});
export type StageEnergy = z.infer<typeof StageEnergySchema>;

/** A line of stages.jsonl: one finished load stage of one runtime. */
export const StageLineSchema = z.object({
  run_id: z.string(),
  runtime: RuntimeSchema,
  stage: z.number().int(),
  /** closed: `concurrency` requests in flight; open: `rate` requests per second on schedule. */
  mode: z.enum(['closed', 'open']),
  rate: z.number().nullable(),
  concurrency: z.number().nullable(),
  arrivals: z.enum(['constant', 'poisson']).nullable(),
  seconds: z.number(),
  /** The stage on the bench clock: first scheduled send → last answer. */
  window: z.object({ start_us: z.number(), end_us: z.number() }),
  sent: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  dropped: z.number().int(),
  /** Completed invocations per second: over `seconds`, or the window when answers outlast the schedule. */
  throughput_rps: z.number(),
  /** Scheduled requests per second of the schedule (open loop: ≈ rate). */
  offered_rps: z.number(),
  latency: StageLatencySchema,
  /** Open loop: actual send − intended send, µs (how well the generator kept its schedule). */
  lateness: z.object({ p50_us: z.number().nullable(), p99_us: z.number().nullable(), max_us: z.number().nullable() }),
  energy: StageEnergySchema.nullable(),
});
export type StageLine = z.infer<typeof StageLineSchema>;

export const BaselineSchema = z.object({
  /** When the idle phase was read, bench clock µs (absent in older files): drift is interpolated between phases. */
  from_us: z.number().optional(),
  to_us: z.number().optional(),
  seconds: z.number(),
  samples: z.number().int(),
  power_w: z.number().nullable(),
  /** Robust spread (MAD) of the idle power. */
  spread_w: z.number().nullable(),
});
export type Baseline = z.infer<typeof BaselineSchema>;

export const RunJsonSchema = z.object({
  run_id: z.string(),
  suite: z.object({ name: z.string(), file: z.string().nullable() }).passthrough(),
  versions: z.object({ nebula: z.string(), node: z.string() }).passthrough(),
  target: z.object({ url: z.string(), health: HealthSchema.nullable() }),
  meter: z
    .object({
      spec: z.string(),
      description: z.string().nullable(),
      /** What the samples showed the meter can resolve, written at the end (docs/energy.md, "Refresh period"). */
      observed: z
        .object({
          /** Median time between reads, µs. */
          interval_us: z.number().nullable(),
          /** Time between changes of the values served (lower decile): how often the device really refreshes, µs (null: they never changed). */
          refresh_us: z.number().nullable(),
          /** Largest quantisation error of a sample, W. */
          resolution_w: z.number().nullable(),
          /** Longest time from a read's start to the next read's end, µs. */
          largest_hole_us: z.number().nullable(),
          samples: z.number().int(),
        })
        .optional(),
    })
    .passthrough(),
  clock: ClockEstimateSchema.nullable(),
  baseline: z.object({ before: BaselineSchema.nullable(), after: BaselineSchema.nullable(), drift_w: z.number().nullable() }),
  runtimes: z.array(RuntimeSchema),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  /** "running" while the run goes; "completed", "interrupted" or "failed" at the end. */
  status: z.enum(['running', 'completed', 'interrupted', 'failed']),
  error: z.string().nullable().optional(),
});
export type RunJson = z.infer<typeof RunJsonSchema>;
