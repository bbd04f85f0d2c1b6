/**
 * Server-vs-bench clock offset (docs/energy.md, "Clock"): several GET /time round trips; the one with the
 * lowest RTT bounds the offset best (NTP's minimum-delay filter), uncertainty = RTT/2.
 */
import type { TargetClient } from '../client/target.js';
import type { ClockEstimate } from '../protocol/results.js';

export interface OffsetEstimate extends ClockEstimate {
  rtt_us: number;
  /** Bench-clock time of the estimate. */
  at_us: number;
}

/** Estimates offset = server_clock − bench_clock from `rounds` GET /time round trips. */
export async function estimateOffset(client: TargetClient, nowUs: () => number, rounds = 8): Promise<OffsetEstimate> {
  let best: OffsetEstimate | undefined;
  for (let i = 0; i < rounds; i++) {
    const sent = nowUs();
    const server = await client.timeUs();
    const replied = nowUs();
    const rtt = replied - sent;
    // Assume the server read its clock halfway through the round trip.
    const offset = server - (sent + rtt / 2);
    if (!best || rtt < best.rtt_us) {
      best = { offset_us: Math.round(offset), uncertainty_us: Math.ceil(rtt / 2), rtt_us: rtt, at_us: replied };
    }
  }
  if (!best) throw new RangeError('estimateOffset needs at least one round');
  return best;
}

/** Maps a server timestamp onto the bench clock. */
export function toBenchUs(serverUs: number, estimate: ClockEstimate): number {
  return serverUs - estimate.offset_us;
}
