/**
 * Turns a runtime's raw run into the InvocationResult of docs/api.md: takes `started_us` from the
 * function's `nebula-start` line (else the host estimate) and `finished_us` from its `nebula-end`
 * line (else the host's `ended_us`), strips those lines from stderr and derives the metrics. Every
 * runtime's run goes through here, so each gets the guest's own stamps. Runs on the hot path: plain
 * object building, no schema parse.
 */
import { metricsFrom, parseEndLine, parseStartLine, type InvocationResult, type Runtime, type StartMode } from '../protocol/api.js';
import type { RawRun } from './host/runtime.js';

const MAX_STDERR_CHARS = 4096;
/**
 * How far a function's `nebula-start` or `nebula-end` stamp may lie outside [ready, ended] and still be trusted (then
 * clamped). Host and guest read one clock up to the anchor's error, a few µs (src/clock.ts); a stamp
 * further out comes from a wrong clock or unit (ms, CLOCK_MONOTONIC), and is not used.
 */
export const START_TOLERANCE_US = 1000;
const decoder = new TextDecoder();

/**
 * What the stamping had to correct, for /metrics: `clamped` = the function's stamp moved into
 * [ready, ended] by at most START_TOLERANCE_US, or ready/ended out of order (a runtime bug);
 * `rejected` = the function's stamp lay further out, so the host estimate was used. Never set in
 * the normal case.
 */
export type StampAdjustment = 'clamped' | 'rejected' | undefined;

/** Builds the InvocationResult for one run; `input` is echoed back as text. */
export function toInvocationResult(
  fn: string,
  runtime: Runtime,
  input: string,
  receivedUs: number,
  raw: RawRun,
  mode: StartMode = 'cold',
): { result: InvocationResult; adjustment: StampAdjustment } {
  const stderrText = decoder.decode(raw.stderr);
  let start = parseStartLine(stderrText);
  let adjustment: StampAdjustment;
  // A prepared native process printed its stamp when it was spawned, before this request: the call
  // starts when its input reaches it (the host estimate), and the stale line is dropped.
  const staleStart = raw.prepared === true && start !== undefined && start.startedUs < receivedUs;
  const afterStaleStart = staleStart && start ? start.rest : undefined;
  if (staleStart) start = undefined;
  else if (start && (start.startedUs < raw.readyUs - START_TOLERANCE_US || start.startedUs > raw.endedUs + START_TOLERANCE_US)) {
    // Keep the line in stderr so the reader sees the stamp that was not used.
    start = undefined;
    adjustment = 'rejected';
  }
  // Keep received ≤ ready ≤ started ≤ ended even if a guest's clock disagrees by a few µs.
  const hostOrFunction = start ? start.startedUs : raw.hostStartUs;
  const readyUs = Math.max(receivedUs, raw.readyUs);
  const endedUs = Math.max(readyUs, raw.endedUs);
  const startedUs = Math.min(endedUs, Math.max(readyUs, hostOrFunction));
  // A host start estimate may be clamped without counting: docker's (the start request returned) can
  // come after a quick container has already exited.
  if (!adjustment && (readyUs !== raw.readyUs || endedUs !== raw.endedUs || (start && startedUs !== start.startedUs))) {
    adjustment = 'clamped';
  }
  const afterStart = start ? start.rest : (afterStaleStart ?? stderrText);
  let end = parseEndLine(afterStart);
  if (end && (end.endedUs < startedUs - START_TOLERANCE_US || end.endedUs > endedUs + START_TOLERANCE_US)) {
    end = undefined;
    adjustment ??= 'rejected';
  }
  // Keep started ≤ finished ≤ ended; a host end stands in when the function printed none.
  const finishedUs = end ? Math.min(endedUs, Math.max(startedUs, end.endedUs)) : endedUs;
  if (!adjustment && end && finishedUs !== end.endedUs) adjustment = 'clamped';
  const ok = raw.exitCode === 0 && raw.error === undefined;
  const rest = end ? end.rest : afterStart;
  const result: InvocationResult = {
    function: fn,
    runtime,
    input,
    output: decoder.decode(raw.stdout).replace(/\r?\n$/, ''),
    ok,
    exit_code: raw.exitCode,
    start_source: start ? 'function' : 'host',
    end_source: end ? 'function' : 'host',
    mode,
    metrics: metricsFrom({ received_us: receivedUs, ready_us: readyUs, started_us: startedUs, finished_us: finishedUs, ended_us: endedUs }),
  };
  if (mode === 'prewarmed') result.prepared = raw.prepared === true;
  if (!ok) result.error = raw.error ?? `exited with code ${raw.exitCode}`;
  if (raw.truncated) result.truncated = true;
  if (rest.length > 0) result.stderr = rest.length > MAX_STDERR_CHARS ? `${rest.slice(0, MAX_STDERR_CHARS)}…` : rest;
  return { result, adjustment };
}
