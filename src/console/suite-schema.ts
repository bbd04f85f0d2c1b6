/**
 * The YAML suite format (docs/suites.md). Strict objects: an unknown key is an
 * error, so a typo like `repetition:` never silently runs the default.
 */
import { z } from 'zod';
import { FunctionNameSchema, RuntimeSchema, StartModeSchema } from '../protocol/api.js';

/** Above this many inputs per function a range is almost surely a typo (a step of 0.001…). */
export const MAX_INPUTS = 100_000;

/**
 * Default bound on the invocations one suite makes (raise it with `max_invocations:`): the plan is
 * held in memory, and `repetitions: 100000000` used to validate and then die of heap exhaustion.
 */
export const MAX_INVOCATIONS = 1_000_000;

export const InputRangeSchema = z.strictObject({
  from: z.number().int(),
  to: z.number().int(),
  step: z.number().int().positive().optional(),
});

const InputValueSchema = z.union([z.string(), z.number()]);

export const InputsSchema = z.union([z.array(InputValueSchema).min(1), InputRangeSchema]);

export const SuiteFunctionSchema = z.strictObject({
  name: FunctionNameSchema,
  inputs: InputsSchema,
  /** Overrides the suite's runtimes for this function. */
  runtimes: z.array(RuntimeSchema).min(1).optional(),
  /** Overrides the suite's start mode(s) for this function (give `mode` or `modes`). */
  mode: StartModeSchema.optional(),
  modes: z.array(StartModeSchema).min(1).optional(),
});

export const METRICS = [
  'startup_us',
  'exec_us',
  'teardown_us',
  'total_us',
  'energy_uwh',
  'isolated_energy_uwh',
  'avg_power_w',
  'error_rate',
] as const;
export const MetricSchema = z.enum(METRICS);
export type Metric = z.infer<typeof MetricSchema>;

export const STATS = ['p50', 'p90', 'p95', 'p99', 'mean', 'min', 'max'] as const;
export const StatSchema = z.enum(STATS);
export type Stat = z.infer<typeof StatSchema>;

/**
 * A k6-style threshold: either `metric` (a statistic of one metric, optionally for one runtime or
 * function) or `ratio` (the statistic of runtime `of` divided by that of runtime `over`).
 */
export const ThresholdSchema = z
  .strictObject({
    metric: MetricSchema.optional(),
    ratio: MetricSchema.optional(),
    function: FunctionNameSchema.optional(),
    runtime: RuntimeSchema.optional(),
    of: RuntimeSchema.optional(),
    over: RuntimeSchema.optional(),
    stat: StatSchema.default('p50'),
    /** The start mode whose invocations are judged; default cold (when the run has cold ones). */
    mode: StartModeSchema.optional(),
    below: z.number().optional(),
    above: z.number().optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.metric === undefined) === (t.ratio === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of `metric` or `ratio`', path: [] });
    }
    if (t.ratio !== undefined && (t.of === undefined || t.over === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a `ratio` threshold needs `of` and `over` runtimes', path: [] });
    }
    if (t.ratio !== undefined && t.runtime !== undefined) {
      ctx.addIssue({ code: 'custom', message: '`runtime` applies to `metric` thresholds; a ratio uses `of` and `over`', path: ['runtime'] });
    }
    if (t.metric !== undefined && (t.of !== undefined || t.over !== undefined)) {
      ctx.addIssue({ code: 'custom', message: '`of`/`over` apply to `ratio` thresholds only', path: [t.of !== undefined ? 'of' : 'over'] });
    }
    if (t.below === undefined && t.above === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a threshold needs `below` or `above`', path: [] });
    }
  });
export type Threshold = z.infer<typeof ThresholdSchema>;

export const ARRIVALS = ['constant', 'poisson'] as const;

/** One open-loop stage: `rate` requests per second for `seconds`. */
export const LoadStageSchema = z.strictObject({
  rate: z.number().positive(),
  seconds: z.number().positive(),
});

/**
 * The `load:` mapping (docs/suites.md, "Load"): exactly one of `concurrency` (closed loop), `rate`
 * (one open-loop stage) or `stages` (an open-loop sweep). One strict object rather than a union of
 * three, so a mistake is reported against the key at fault instead of "matches none of three shapes".
 */
export const LoadObjectSchema = z
  .strictObject({
    concurrency: z.number().int().min(1).optional(),
    rate: z.number().positive().optional(),
    stages: z.array(LoadStageSchema).min(1).optional(),
    seconds: z.number().positive().optional(),
    arrivals: z.enum(ARRIVALS).optional(),
    /** Open loop: requests beyond this many in flight are recorded as dropped, never sent late. */
    max_in_flight: z.number().int().min(1).optional(),
    /** Seed of the Poisson arrivals (the same seed gives the same schedule). */
    seed: z.number().int().min(0).optional(),
  })
  .superRefine((l, ctx) => {
    const given = (['concurrency', 'rate', 'stages'] as const).filter((k) => l[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: given.length ? `give only one of ${given.map((k) => `\`${k}\``).join(' and ')}` : 'give one of `concurrency`, `rate` or `stages`', path: given.length ? [given[1]!] : [] });
      return;
    }
    if (l.stages === undefined && l.seconds === undefined) ctx.addIssue({ code: 'custom', message: `\`${given[0]!}\` needs \`seconds\``, path: [] });
    if (l.stages !== undefined && l.seconds !== undefined) ctx.addIssue({ code: 'custom', message: 'each stage has its own `seconds`', path: ['seconds'] });
    if (l.concurrency !== undefined) {
      for (const key of ['arrivals', 'max_in_flight', 'seed'] as const) {
        if (l[key] !== undefined) ctx.addIssue({ code: 'custom', message: `\`${key}\` applies to open-loop load (\`rate\` or \`stages\`), not to \`concurrency\``, path: [key] });
      }
    }
  });

/** `sequential` (one invocation after the other, the default) or a load mapping. */
export const LoadSchema = z.union([z.literal('sequential'), LoadObjectSchema]);
export type LoadInput = z.infer<typeof LoadSchema>;

export const SuiteSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use letters, digits, ".", "_" and "-" (it names the results directory)'),
  description: z.string().optional(),
  target: z.string().optional(),
  runtimes: z.array(RuntimeSchema).min(1),
  repetitions: z.number().int().min(1).default(1),
  warmup: z.number().int().min(0).default(0),
  order: z.enum(['interleaved', 'blocked']).default('interleaved'),
  /**
   * How each invocation starts (docs/suites.md, "Start modes"): `cold` (the default, the thesis'
   * definition) or `prewarmed`; `modes: [cold, prewarmed]` runs both, interleaved like the runtimes.
   */
  mode: StartModeSchema.optional(),
  modes: z.array(StartModeSchema).min(1).optional(),
  baseline: z
    .strictObject({
      seconds: z.number().min(0),
      /** Measure idle power again after the run, to report drift. */
      after: z.boolean().default(true),
    })
    .optional(),
  meter: z.string().default('none'),
  /** Meter sampling interval; 0 or absent: as fast as the meter answers. */
  meter_interval_ms: z.number().min(0).optional(),
  /** Per-invocation HTTP timeout. */
  timeout_ms: z.number().int().positive().optional(),
  /**
   * Before each invocation of a sequential run: `auto` waits (GET /settled) until the server runs no
   * invocation and no clean-up of one; a number pauses that many ms instead; 0 starts at once
   * (docs/suites.md, docs/methodology.md "Settling").
   */
  settle: z.union([z.literal('auto'), z.number().int().min(0).max(60_000)]).default('auto'),
  /** Consecutive failed requests tolerated before the run stops with exit 3. */
  retries: z.number().int().min(0).default(2),
  /** Raises the bound on total invocations (default MAX_INVOCATIONS). */
  max_invocations: z.number().int().positive().optional(),
  thresholds: z.array(ThresholdSchema).default([]),
  /** How invocations are driven: sequential (default), closed-loop concurrency or open-loop rates. */
  load: LoadSchema.default('sequential'),
  functions: z.array(SuiteFunctionSchema).min(1),
});
export type SuiteInput = z.infer<typeof SuiteSchema>;
