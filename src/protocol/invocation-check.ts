/**
 * The check of an invocation answer on the load generator's hot path. zod's `InvocationResultSchema`
 * stays the definition; this hand-written check accepts exactly what it accepts and builds the same
 * object (keys in the schema's order, unknown keys dropped) at a fraction of its cost — zod's parse was
 * one of the larger costs per request of a load run (docs/performance.md, "Load generator"). Whatever
 * the fast check rejects goes through zod, so a malformed answer is still named field by field, and
 * zod has the last word: an answer it accepts is never refused. test/protocol/invocation-check.test.ts
 * holds both to the same verdicts.
 */
import type { z } from 'zod';
import { InvocationResultSchema, RuntimeSchema, StartModeSchema, type InvocationResult, type Metrics } from './api.js';

const RUNTIMES: ReadonlySet<unknown> = new Set(RuntimeSchema.options);
const START_MODES: ReadonlySet<unknown> = new Set(StartModeSchema.options);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isSource = (v: unknown): v is 'function' | 'host' => v === 'function' || v === 'host';

function metricsOf(m: unknown): Metrics | null {
  if (!isObject(m)) return null;
  const { received_us, ready_us, started_us, finished_us, ended_us, startup_us, exec_us, teardown_us, total_us } = m;
  if (!isInt(received_us) || !isInt(ready_us) || !isInt(started_us) || !isInt(ended_us) || !isInt(startup_us) || !isInt(exec_us) || !isInt(total_us)) return null;
  if ((finished_us !== undefined && !isInt(finished_us)) || (teardown_us !== undefined && !isInt(teardown_us))) return null;
  const out = { received_us, ready_us, started_us } as Metrics;
  if (finished_us !== undefined) out.finished_us = finished_us;
  out.ended_us = ended_us;
  out.startup_us = startup_us;
  out.exec_us = exec_us;
  if (teardown_us !== undefined) out.teardown_us = teardown_us;
  out.total_us = total_us;
  return out;
}

/** The fast path: the checked answer, or null when anything about it is off (zod then says what). */
function fastCheck(d: unknown): InvocationResult | null {
  if (!isObject(d)) return null;
  const { function: fn, runtime, input, output, ok, exit_code, start_source, end_source, error, stderr, mode, prepared, truncated } = d;
  if (typeof fn !== 'string' || !RUNTIMES.has(runtime) || typeof input !== 'string' || typeof output !== 'string' || typeof ok !== 'boolean') return null;
  if ((exit_code !== null && !isInt(exit_code)) || !isSource(start_source) || (end_source !== undefined && !isSource(end_source))) return null;
  if ((error !== undefined && typeof error !== 'string') || (stderr !== undefined && typeof stderr !== 'string')) return null;
  if ((mode !== undefined && !START_MODES.has(mode)) || (prepared !== undefined && typeof prepared !== 'boolean') || (truncated !== undefined && truncated !== true)) return null;
  const metrics = metricsOf(d.metrics);
  if (!metrics) return null;
  const out = { function: fn, runtime, input, output, ok, exit_code, start_source } as InvocationResult;
  if (end_source !== undefined) out.end_source = end_source;
  if (error !== undefined) out.error = error;
  if (stderr !== undefined) out.stderr = stderr;
  if (mode !== undefined) out.mode = mode as InvocationResult['mode'];
  if (prepared !== undefined) out.prepared = prepared;
  if (truncated !== undefined) out.truncated = truncated;
  out.metrics = metrics;
  return out;
}

/** `InvocationResultSchema.safeParse`, with the same verdicts and output, fast when the answer is well formed. */
export function parseInvocationResult(data: unknown): z.ZodSafeParseResult<InvocationResult> {
  const fast = fastCheck(data);
  return fast ? { success: true, data: fast } : InvocationResultSchema.safeParse(data);
}
