/**
 * Turns driver events into batched UI actions. At ≥ 500 samples/s a dispatch per sample would
 * re-render the UI hundreds of times a second; instead events are queued and delivered as one
 * `batch` action every `frameMs` (100 ms → ≤ 10 renders/s), samples and lines merged, only the
 * latest progress kept. No React here: it is tested with a plain driver-shaped emitter.
 */
import type { EventEmitter } from 'node:events';
import type { DriverEventMap } from '../console/driver.js';
import type { Sample, InvocationLine } from '../protocol/results.js';
import type { EnergyItem, UiAction } from './state.js';

export interface Feed {
  /** Delivers what is queued now (also called by the timer). */
  flush(): void;
  /** Stops the timer after a last flush. */
  close(): void;
}

/** Subscribes to a driver and dispatches batched actions at most every `frameMs`. */
export function feedDriver(driver: EventEmitter<DriverEventMap>, dir: string, dispatch: (action: UiAction) => void, frameMs = 100): Feed {
  let queue: UiAction[] = [];
  let samples: Sample[] = [];
  let lines: InvocationLine[] = [];
  let energies: EnergyItem[] = [];
  /** Measured lines whose energy has not arrived yet, by seq. */
  const awaiting = new Map<number, InvocationLine>();
  let progress: UiAction | null = null;
  let load: UiAction | null = null;
  driver.on('start', (s) =>
    queue.push({ type: 'start', suite: s.suite.name, runId: s.runId, target: s.target, health: s.health, meter: s.meter.description ?? s.meter.spec, total: s.total, dir }),
  );
  driver.on('phase', (p) => queue.push({ type: 'phase', phase: p.phase, seconds: p.seconds ?? null, atMs: Date.now() }));
  driver.on('clock', (c) => queue.push({ type: 'clock', offsetUs: c.offset_us, uncertaintyUs: c.uncertainty_us }));
  driver.on('baseline', (b) => queue.push({ type: 'baseline', which: b.which, baseline: b.baseline, driftW: b.driftW }));
  driver.on('invocation', (line) => {
    lines.push(line);
    if (!line.warmup && line.ok && line.metrics) awaiting.set(line.seq, line);
  });
  driver.on('energy', (e) => {
    const line = awaiting.get(e.seq);
    awaiting.delete(e.seq);
    const iso = e.energy?.isolated_energy_uwh;
    const w = e.energy?.window;
    const isolatedW = iso != null && w && w.end_us > w.start_us ? (iso * 3600) / (w.end_us - w.start_us) : null;
    if (line && iso !== null && iso !== undefined) {
      energies.push({ function: line.function, runtime: line.runtime, ...(line.mode === 'prewarmed' ? { mode: 'prewarmed' as const } : {}), isolatedUwh: iso, isolatedW });
    }
  });
  driver.on('sample', (s) => samples.push(s));
  driver.on('gap', (gap) => queue.push({ type: 'gap', gap }));
  driver.on('error', (e) => queue.push({ type: 'error', message: e.message, fatal: e.fatal }));
  driver.on('progress', (p) => (progress = { type: 'progress', ...p }));
  driver.on('load', (status) => (load = { type: 'load', status }));
  driver.on('done', (d) => queue.push({ type: 'done', status: d.status, error: d.error }));

  const flush = (): void => {
    const actions: UiAction[] = [];
    // Lines and samples before the queued events so a `done` lands after the last data.
    if (samples.length) actions.push({ type: 'samples', samples });
    if (lines.length) actions.push({ type: 'invocations', lines });
    if (energies.length) actions.push({ type: 'energies', items: energies });
    if (progress) actions.push(progress);
    if (load) actions.push(load);
    actions.push(...queue);
    samples = [];
    lines = [];
    energies = [];
    progress = null;
    load = null;
    queue = [];
    if (actions.length) dispatch({ type: 'batch', actions });
  };
  const timer = setInterval(flush, frameMs);
  timer.unref();
  return {
    flush,
    close(): void {
      clearInterval(timer);
      flush();
    },
  };
}
