/**
 * The open loop (docs/suites.md, "Load"): requests are sent on their schedule whether or not earlier
 * ones have returned, and each one's latency counts from when it was due — so a target that falls
 * behind shows growing latency instead of a generator that quietly waits for it (coordinated
 * omission, as wrk2 and k6's arrival-rate executors avoid it). A request due while `maxInFlight` are
 * outstanding is recorded as dropped, never sent late. After a stop no further request is sent.
 */
import type { Runtime } from '../../protocol/api.js';
import { waitUntil, type Pace } from './pacer.js';
import { arrivalOffsets } from './schedule.js';
import { dropOne, sendOne, type SenderContext, type WorkItem } from './sender.js';
import type { StageSpec } from './stages.js';
import { StageTally } from './tally.js';

/** Lead time between computing the schedule and its first send, µs. */
const LEAD_US = 1000;

export async function runOpenStage(
  ctx: SenderContext & Pace,
  spec: Extract<StageSpec, { mode: 'open' }>,
  runtime: Runtime,
  items: readonly WorkItem[],
  nextSeq: () => number,
  stages: number,
  onStart: (tally: StageTally) => void,
): Promise<StageTally> {
  const offsets = arrivalOffsets(spec.rate, spec.seconds, spec.arrivals, spec.seed);
  const start = ctx.nowUs() + LEAD_US;
  const tally = new StageTally(spec, runtime, stages, start);
  onStart(tally);
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; k < offsets.length; k++) {
    const due = start + offsets[k]!;
    await waitUntil(due, ctx);
    if (ctx.stopped()) break;
    const item = items[k % items.length]!;
    if (tally.inFlight >= spec.maxInFlight) {
      dropOne(ctx, runtime, item, nextSeq(), due, tally, spec.maxInFlight);
      continue;
    }
    const request = sendOne(ctx, runtime, item, nextSeq(), due, tally);
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  // The stage ends with its last answer: what is still in flight belongs to it.
  await Promise.all(inFlight);
  return tally;
}
