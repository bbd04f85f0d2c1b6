/**
 * Sends one load request and accounts for it: the line (with `stage` and `intended_us`) goes out as
 * soon as the answer is in — lines of a load run therefore come in completion order, `seq` is the
 * order they were scheduled in — and the stage's tally counts it exactly once.
 */
import type { Runtime } from '../../protocol/api.js';
import { DROPPED, type ClockEstimate, type InvocationLine } from '../../protocol/results.js';
import { failedRequest, unanswered, type ResultPart } from '../request-failure.js';
import type { StageTally } from './tally.js';

/** One (function, input) of the mix a runtime's stages cycle through. */
export interface WorkItem {
  function: string;
  input: string;
}

export interface SenderContext {
  runId: string;
  nowUs: () => number;
  invoke: (name: string, input: string, runtime: Runtime) => Promise<ResultPart>;
  clock: () => ClockEstimate | null;
  emitLine: (line: InvocationLine) => void;
}

/**
 * Completes the result part into the load line, in place: every part here is the sender's own fresh
 * object (the client's checked answer, or a failure built for this request), so nothing is copied —
 * and never `{ ...result, run_id, … }`, which on Node 20 took ~40 µs a line (docs/performance.md,
 * "Load generator"). The keys come out in the same order as before: the answer's, then these.
 */
function lineOf(ctx: SenderContext, result: ResultPart, seq: number, rep: number, warmup: boolean, sent: number, replied: number, stage: number | undefined, intended: number): InvocationLine {
  const line = result as InvocationLine;
  line.run_id = ctx.runId;
  line.seq = seq;
  line.rep = rep;
  line.warmup = warmup;
  line.client = { sent_us: sent, replied_us: replied };
  // No energy, ever: windows overlap under load, so energy is the stage's (stages.jsonl).
  line.clock = ctx.clock();
  if (stage !== undefined) line.stage = stage;
  line.intended_us = intended;
  return line;
}

/**
 * Sends `item` to `runtime`, due at `due` (null: due now — the closed loop and warm-ups); `tally`
 * null for a warm-up. Never rejects: a failed request is a failed line.
 */
export async function sendOne(ctx: SenderContext, runtime: Runtime, item: WorkItem, seq: number, due: number | null, tally: StageTally | null): Promise<void> {
  const sent = ctx.nowUs();
  const intendedUs = due ?? sent;
  tally?.sending(sent - intendedUs);
  let result: ResultPart;
  try {
    result = await ctx.invoke(item.function, item.input, runtime);
  } catch (error) {
    result = failedRequest({ ...item, runtime }, error);
  }
  const replied = ctx.nowUs();
  tally?.settled(result.ok ? 'completed' : 'failed', replied - intendedUs, replied);
  ctx.emitLine(lineOf(ctx, result, seq, tally ? seq : 0, tally === null, sent, replied, tally?.spec.index, intendedUs));
}

/** Records a request the open loop did not send because `maxInFlight` were already in flight. */
export function dropOne(ctx: SenderContext, runtime: Runtime, item: WorkItem, seq: number, intendedUs: number, tally: StageTally, maxInFlight: number): void {
  const now = ctx.nowUs();
  tally.droppedOne(now);
  const message = `not sent: ${maxInFlight} requests were already in flight (load.max_in_flight)`;
  const result = unanswered({ function: item.function, input: item.input, runtime }, { code: DROPPED, message });
  ctx.emitLine(lineOf(ctx, result, seq, seq, false, now, now, tally.spec.index, intendedUs));
}
