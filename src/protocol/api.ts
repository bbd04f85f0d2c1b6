/**
 * The wire contract between `nebula serve` and its clients (docs/api.md). Both sides use
 * these schemas: the server to type what it sends, clients to validate what they receive.
 */
import { z } from 'zod';

/** Every runtime nebula serve knows: the one list the server's registry, clients and suites derive from. */
export const RUNTIMES = ['wasm', 'component', 'docker', 'native'] as const;
export const RuntimeSchema = z.enum(RUNTIMES);
export type Runtime = z.infer<typeof RuntimeSchema>;

/**
 * How an invocation starts (docs/methodology.md, "Start modes"): `cold` creates everything on the
 * request's path (the thesis' definition); `prewarmed` runs in a fresh instance the runtime prepared
 * before the request arrived, so only that preparation leaves `startup_us`.
 */
export const START_MODES = ['cold', 'prewarmed'] as const;
export const StartModeSchema = z.enum(START_MODES);
export type StartMode = z.infer<typeof StartModeSchema>;

/**
 * What `PUT /functions/{name}/{kind}` takes: each runtime's own artifact, named like the runtime
 * (a `docker` image can also be built by the server from a `native` upload).
 */
export type ArtifactKind = Runtime;
export const ARTIFACT_KINDS: readonly ArtifactKind[] = RUNTIMES;

/** `^[a-z0-9][a-z0-9-]{0,62}$`: safe as a path segment, a file name and a Docker image name. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const FunctionNameSchema = z.string().regex(FUNCTION_NAME);

export const ARCHES = ['x64', 'arm64'] as const;
export const ArchSchema = z.enum(ARCHES);
export type Arch = z.infer<typeof ArchSchema>;

export const HealthSchema = z.object({
  ok: z.boolean(),
  version: z.string(),
  arch: z.string(),
  /** One entry per runtime in RUNTIMES: can it run functions now. */
  runtimes: z.record(RuntimeSchema, z.boolean()),
  /** Why a runtime is unavailable (e.g. "no Docker engine at /var/run/docker.sock"). */
  unavailable: z.record(z.string(), z.string()).optional(),
});
export type Health = z.infer<typeof HealthSchema>;

export const TimeSchema = z.object({ epoch_us: z.number().int() });

/** GET /settled?wait_ms=N: whether no invocation or runtime clean-up was running (docs/api.md). */
export const SettledSchema = z.object({
  settled: z.boolean(),
  /** How long the server waited for it, µs. */
  waited_us: z.number().int(),
  in_flight: z.number().int(),
  background: z.number().int(),
});
export type Settled = z.infer<typeof SettledSchema>;
export type TimeResponse = z.infer<typeof TimeSchema>;

export const FunctionInfoSchema = z.object({
  name: FunctionNameSchema,
  artifacts: z.object({
    wasm: z.object({ sha256: z.string(), bytes: z.number().int() }).optional(),
    component: z.object({ sha256: z.string(), bytes: z.number().int() }).optional(),
    native: z.object({ sha256: z.string(), arch: z.string() }).optional(),
    docker: z.object({ image: z.string() }).optional(),
  }),
});
export type FunctionInfo = z.infer<typeof FunctionInfoSchema>;
export const FunctionListSchema = z.array(FunctionInfoSchema);

/** Server-side timestamps, µs since the Unix epoch on the server's realtime clock. */
export const MetricsSchema = z.object({
  received_us: z.number().int(),
  ready_us: z.number().int(),
  started_us: z.number().int(),
  /**
   * The function's own end: its `nebula-end` stamp (`end_source:"function"`), else `ended_us`.
   * Absent (like `teardown_us`) only in results recorded before the harness stamped its end.
   */
  finished_us: z.number().int().optional(),
  ended_us: z.number().int(),
  startup_us: z.number().int(),
  exec_us: z.number().int(),
  /** ended − finished: from the function's end to the runtime observing it (exit, reaping, stream close). */
  teardown_us: z.number().int().optional(),
  total_us: z.number().int(),
});
export type Metrics = z.infer<typeof MetricsSchema>;

export const InvocationResultSchema = z.object({
  function: z.string(),
  runtime: RuntimeSchema,
  input: z.string(),
  output: z.string(),
  ok: z.boolean(),
  exit_code: z.number().int().nullable(),
  /** "function": the harness printed `nebula-start <us>`; "host": the runtime's own estimate. */
  start_source: z.enum(['function', 'host']),
  /** "function": the harness printed `nebula-end <us>` as its last act; "host": `ended_us` stands in. */
  end_source: z.enum(['function', 'host']).optional(),
  error: z.string().optional(),
  /** The function's stderr without the nebula-start line (truncated), useful when ok is false. */
  stderr: z.string().optional(),
  /** The start mode asked for; absent in results recorded before modes existed (they are cold). */
  mode: StartModeSchema.optional(),
  /**
   * With mode `prewarmed`: whether the call found an instance prepared ahead (false: none was ready,
   * e.g. the first call, and it started cold). Absent with mode `cold`.
   */
  prepared: z.boolean().optional(),
  /** Present (true) when stdout or stderr exceeded the server's output cap and the rest was dropped. */
  truncated: z.literal(true).optional(),
  metrics: MetricsSchema,
});
export type InvocationResult = z.infer<typeof InvocationResultSchema>;

/** POST /functions/{name}/prepare?runtime=X: whether an instance is now prepared (docs/api.md). */
export const PreparedSchema = z.object({ function: z.string(), runtime: RuntimeSchema, prepared: z.boolean() });

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The thesis prototype's answer shape for POST /invoke_function (docs/api.md, thesis endpoint). */
export const FunctionResultSchema = z.object({
  func_name: z.string(),
  func_type: z.enum(['Wasm', 'Docker']),
  input: z.string(),
  result: z.string(),
  metrics: z.object({
    startup_time: z.number(),
    total_runtime: z.number(),
    start_since_epoch: z.number(),
    end_since_epoch: z.number(),
  }),
});
export type FunctionResult = z.infer<typeof FunctionResultSchema>;

/**
 * Builds the derived fields of Metrics from the stamps (docs/api.md, "Timestamps"): exec is the
 * function's own run (started → finished), teardown what the runtime takes to observe its end
 * (finished → ended); startup + exec + teardown = total, the thesis' received → ended.
 */
export function metricsFrom(stamps: {
  received_us: number;
  ready_us: number;
  started_us: number;
  finished_us?: number | undefined;
  ended_us: number;
}): Metrics {
  const finished = stamps.finished_us ?? stamps.ended_us;
  return {
    received_us: stamps.received_us,
    ready_us: stamps.ready_us,
    started_us: stamps.started_us,
    finished_us: finished,
    ended_us: stamps.ended_us,
    startup_us: stamps.started_us - stamps.received_us,
    exec_us: finished - stamps.started_us,
    teardown_us: stamps.ended_us - finished,
    total_us: stamps.ended_us - stamps.received_us,
  };
}

/** Parses the harness' first stderr line, `nebula-start <epoch_us>`. Returns undefined if absent. */
export function parseStartLine(stderr: string): { startedUs: number; rest: string } | undefined {
  const match = /^nebula-start (\d{1,20})\r?\n?/.exec(stderr);
  if (!match?.[1]) return undefined;
  return { startedUs: Number(match[1]), rest: stderr.slice(match[0].length) };
}

/** Parses the harness' last stderr line, `nebula-end <epoch_us>`. Returns undefined if absent. */
export function parseEndLine(stderr: string): { endedUs: number; rest: string } | undefined {
  const match = /(?:^|\n)(nebula-end (\d{1,20})\r?\n?)$/.exec(stderr);
  if (!match?.[1] || !match[2]) return undefined;
  return { endedUs: Number(match[2]), rest: stderr.slice(0, stderr.length - match[1].length) };
}
