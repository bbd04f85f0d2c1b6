/**
 * The closed loop: `concurrency` workers, each sending its next request as soon as its previous one
 * returned, until the stage's time is up. A request's intended send time is its actual one — a closed
 * loop by definition waits for the target, so its latencies describe the target at the throughput it
 * allowed (docs/suites.md, "Load", says when to prefer the open loop).
 */
import type { Runtime } from '../../protocol/api.js';
import type { Pace } from './pacer.js';
import { sendOne, type SenderContext, type WorkItem } from './sender.js';
import type { StageSpec } from './stages.js';
import { StageTally } from './tally.js';

export async function runClosedStage(
  ctx: SenderContext & Pace,
  spec: Extract<StageSpec, { mode: 'closed' }>,
  runtime: Runtime,
  items: readonly WorkItem[],
  nextSeq: () => number,
  stages: number,
  onStart: (tally: StageTally) => void,
): Promise<StageTally> {
  const start = ctx.nowUs();
  const end = start + spec.seconds * 1e6;
  const tally = new StageTally(spec, runtime, stages, start);
  onStart(tally);
  let k = 0;
  const worker = async (): Promise<void> => {
    while (!ctx.stopped() && ctx.nowUs() < end) {
      await sendOne(ctx, runtime, items[k++ % items.length]!, nextSeq(), null, tally);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return tally;
}
