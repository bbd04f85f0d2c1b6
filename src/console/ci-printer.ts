/**
 * The --ci presenter: progress lines on stderr (phase changes, errors, and at most one progress line
 * per `everyMs`). The end of the run is src/console/terminal-summary.ts. No React.
 */
import type { Writable } from 'node:stream';
import { duration } from '../report/format.js';
import { describeStage } from '../report/load-curves.js';
import type { Driver } from './driver.js';
import { escapeControl } from '../terminal-text.js';

/** Subscribes progress output to a driver. */
export function attachCiPrinter(driver: Driver, stderr: Writable, everyMs = 1000): void {
  let last = 0;
  const say = (text: string): void => {
    stderr.write(`${escapeControl(text)}\n`);
  };
  driver.on('start', (s) => {
    say(`nebula: suite ${s.suite.name} → ${s.target} (nebula ${s.health.version}, ${s.health.arch}); meter ${s.meter.description ?? s.meter.spec}; ${s.total} invocations`);
  });
  driver.on('clock', (c) => say(`clock offset ${Math.round(c.offset_us)} µs ± ${c.uncertainty_us} µs`));
  driver.on('phase', (p) => {
    if (p.phase === 'clock' || p.phase === 'finishing') return;
    say(`phase ${p.phase}${p.seconds ? ` (${p.seconds} s)` : ''}`);
  });
  driver.on('baseline', (b) =>
    say(
      `baseline ${b.which}: ${b.baseline.power_w === null ? 'no samples' : `${b.baseline.power_w.toFixed(3)} W`} from ${b.baseline.samples} samples${
        b.driftW === null ? '' : `, drift ${b.driftW >= 0 ? '+' : ''}${b.driftW.toFixed(3)} W`
      }`,
    ),
  );
  driver.on('gap', (g) => say(`meter gap ${((g.to_us - g.from_us) / 1000).toFixed(0)} ms: ${g.reason}`));
  driver.on('error', (e) => say(`${e.fatal ? 'fatal' : 'error'}: ${e.message}`));
  driver.on('stage', (line) => say(describeStage(line)));
  driver.on('progress', (p) => {
    const now = Date.now();
    if (now - last < everyMs && p.done !== p.total) return;
    last = now;
    const eta = p.etaMs === null ? '' : `, ETA ${duration(p.etaMs * 1000)}`;
    say(`progress ${p.done}/${p.total} (${Math.floor((100 * p.done) / Math.max(1, p.total))}%)${p.failed ? `, ${p.failed} failed` : ''}${eta}`);
  });
}
