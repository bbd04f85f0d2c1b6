/**
 * Turns a runtime's raw run into the InvocationResult of DESIGN.md: takes `started_us` from the
 * function's `nebula-start` line (else the host estimate), strips that line from stderr and derives
 * the metrics. Runs on the hot path: plain object building, no schema parse.
 */
import { metricsFrom, parseStartLine, type InvocationResult, type Runtime } from '../protocol/api.js';
import type { RawRun } from './runtimes/types.js';

const MAX_STDERR_CHARS = 4096;
const decoder = new TextDecoder();

/** Builds the InvocationResult for one run; `input` is echoed back as text. */
export function toInvocationResult(
  fn: string,
  runtime: Runtime,
  input: string,
  receivedUs: number,
  raw: RawRun,
): InvocationResult {
  const stderrText = decoder.decode(raw.stderr);
  const start = parseStartLine(stderrText);
  // Keep received ≤ ready ≤ started ≤ ended even if a guest's clock disagrees by a few µs.
  const readyUs = Math.max(receivedUs, raw.readyUs);
  const endedUs = Math.max(readyUs, raw.endedUs);
  const startedUs = Math.min(endedUs, Math.max(readyUs, start ? start.startedUs : raw.hostStartUs));
  const ok = raw.exitCode === 0 && raw.error === undefined;
  const rest = start ? start.rest : stderrText;
  const result: InvocationResult = {
    function: fn,
    runtime,
    input,
    output: decoder.decode(raw.stdout).replace(/\r?\n$/, ''),
    ok,
    exit_code: raw.exitCode,
    start_source: start ? 'function' : 'host',
    metrics: metricsFrom({ received_us: receivedUs, ready_us: readyUs, started_us: startedUs, ended_us: endedUs }),
  };
  if (!ok) result.error = raw.error ?? `exited with code ${raw.exitCode}`;
  if (rest.length > 0) result.stderr = rest.length > MAX_STDERR_CHARS ? `${rest.slice(0, MAX_STDERR_CHARS)}…` : rest;
  return result;
}
