/**
 * The console UI's state: a reducer over a discriminated action union fed by driver events.
 * Pure — no Ink, no React, no I/O — so it is tested directly. Samples arrive in
 * batches and are folded into a bounded ring of time buckets (the chart never holds more than
 * CHART_BUCKETS points, whatever the meter's rate).
 */
import type { StageStatus } from '../console/load/tally.js';
import type { Health, Runtime } from '../protocol/api.js';
import type { Baseline, Gap, InvocationLine, Sample } from '../protocol/results.js';
import { escapeControl } from '../terminal-text.js';
import { Series } from './series.js';

/** The chart covers the last minute in half-second buckets. */
export const CHART_SECONDS = 60;
export const CHART_BUCKETS = 120;
const BUCKET_US = (CHART_SECONDS * 1e6) / CHART_BUCKETS;
/** Sample rate is measured over the last few seconds of buckets. */
const RATE_SECONDS = 5;

export interface Cell {
  function: string;
  runtime: Runtime;
  /** Prewarmed invocations get cells of their own (their start-ups are another thing); absent: cold. */
  mode?: 'prewarmed';
  n: number;
  errors: number;
  /** Append-only series shared with earlier states (see series.ts for why that keeps this pure). */
  startupUs: Series;
  totalUs: Series;
  isolatedUwh: Series;
}

export interface Bucket {
  /** Bucket index: floor(t_start_us / BUCKET_US). */
  index: number;
  sum: number;
  count: number;
}

export type UiPhase = 'starting' | 'clock' | 'baseline-before' | 'warmup' | 'measure' | 'baseline-after' | 'finishing' | 'done';

export interface UiState {
  suite: string;
  runId: string;
  target: string;
  targetVersion: string | null;
  meter: string;
  dir: string;
  phase: UiPhase;
  /** Length of a timed phase, s, and when it began (ms, for its countdown). */
  phaseSeconds: number | null;
  phaseStartedMs: number | null;
  done: number;
  total: number;
  failed: number;
  etaMs: number | null;
  paused: boolean;
  clock: { offsetUs: number; uncertaintyUs: number } | null;
  baselineW: number | null;
  driftW: number | null;
  /** Recent isolated powers of measured invocations, W (the drift caveat weighs the drift against their median). */
  isolatedPowersW: number[];
  /** Insertion order = the suite's order. */
  cells: Cell[];
  buckets: Bucket[];
  currentW: number | null;
  samples: number;
  gaps: number;
  lastError: string | null;
  status: 'running' | 'stopping' | 'completed' | 'interrupted' | 'failed';
  /** Under load: the stage being driven (null for a sequential run). */
  load: StageStatus | null;
}

/** The energy of a measured invocation, for its function × runtime cell. */
export interface EnergyItem {
  function: string;
  runtime: Runtime;
  mode?: 'prewarmed';
  isolatedUwh: number;
  /** Isolated energy over the window's length, W (null without a window). */
  isolatedW?: number | null;
}

export type UiAction =
  | { type: 'start'; suite: string; runId: string; target: string; health: Health | null; meter: string; total: number; dir: string }
  | { type: 'phase'; phase: UiPhase; seconds: number | null; atMs: number }
  | { type: 'clock'; offsetUs: number; uncertaintyUs: number }
  | { type: 'baseline'; which: 'before' | 'after'; baseline: Baseline; driftW: number | null }
  | { type: 'invocations'; lines: InvocationLine[] }
  /** Isolated energies that arrived after their lines (the meter covers a window later). */
  | { type: 'energies'; items: EnergyItem[] }
  | { type: 'samples'; samples: Sample[] }
  | { type: 'gap'; gap: Gap }
  | { type: 'error'; message: string; fatal: boolean }
  | { type: 'progress'; done: number; total: number; failed: number; etaMs: number | null; paused: boolean }
  | { type: 'load'; status: StageStatus }
  | { type: 'stopping' }
  | { type: 'done'; status: 'completed' | 'interrupted' | 'failed'; error: string | null }
  | { type: 'batch'; actions: UiAction[] };

/** The state before the driver's `start`. */
export function initialState(partial: Partial<UiState> = {}): UiState {
  return {
    suite: '',
    runId: '',
    target: '',
    targetVersion: null,
    meter: '',
    dir: '',
    phase: 'starting',
    phaseSeconds: null,
    phaseStartedMs: null,
    done: 0,
    total: 0,
    failed: 0,
    etaMs: null,
    paused: false,
    clock: null,
    baselineW: null,
    driftW: null,
    isolatedPowersW: [],
    cells: [],
    buckets: [],
    currentW: null,
    samples: 0,
    gaps: 0,
    lastError: null,
    status: 'running',
    load: null,
    ...partial,
  };
}

/** The UI reducer. Never mutates `state`. */
export function reduce(state: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'batch':
      return action.actions.reduce(reduce, state);
    case 'start':
      return {
        ...state,
        suite: action.suite,
        runId: action.runId,
        target: action.target,
        targetVersion: action.health?.version ?? null,
        meter: action.meter,
        total: action.total,
        dir: action.dir,
      };
    case 'phase':
      return { ...state, phase: action.phase, phaseSeconds: action.seconds, phaseStartedMs: action.atMs };
    case 'clock':
      return { ...state, clock: { offsetUs: action.offsetUs, uncertaintyUs: action.uncertaintyUs } };
    case 'baseline':
      return {
        ...state,
        baselineW: action.which === 'before' ? action.baseline.power_w : state.baselineW,
        driftW: action.which === 'after' ? action.driftW : state.driftW,
      };
    case 'invocations':
      return { ...state, cells: addLines(state.cells, action.lines) };
    case 'energies':
      return { ...state, cells: addEnergies(state.cells, action.items), isolatedPowersW: recentPowers(state.isolatedPowersW, action.items) };
    case 'samples':
      return addSamples(state, action.samples);
    case 'gap':
      return { ...state, gaps: state.gaps + 1, lastError: escapeControl(`meter gap of ${Math.round((action.gap.to_us - action.gap.from_us) / 1000)} ms: ${action.gap.reason}`) };
    case 'error':
      return { ...state, lastError: escapeControl(action.message) };
    case 'progress':
      return { ...state, done: action.done, total: action.total, failed: action.failed, etaMs: action.etaMs, paused: action.paused };
    case 'load':
      return { ...state, load: action.status };
    case 'stopping':
      return state.status === 'running' ? { ...state, status: 'stopping' } : state;
    case 'done':
      return { ...state, status: action.status, phase: 'done', lastError: action.error === null ? state.lastError : escapeControl(action.error) };
  }
}

/**
 * Folds a batch of lines into the cells. Each touched cell is replaced once per batch by a new Cell
 * whose series have the batch's values appended (O(batch), not O(results so far)); untouched cells
 * keep their identity, so the table recomputes nothing for them.
 */
function addLines(cells: Cell[], lines: readonly InvocationLine[]): Cell[] {
  const pending = new Map<number, { errors: number; startup: number[]; total: number[]; iso: number[] }>();
  const next = [...cells];
  for (const line of lines) {
    if (line.warmup) continue;
    const mode = line.mode === 'prewarmed' ? ('prewarmed' as const) : undefined;
    let index = next.findIndex((c) => c.function === line.function && c.runtime === line.runtime && c.mode === mode);
    if (index < 0) {
      const cell: Cell = { function: line.function, runtime: line.runtime, n: 0, errors: 0, startupUs: Series.empty(), totalUs: Series.empty(), isolatedUwh: Series.empty() };
      index = next.push(mode ? { ...cell, mode } : cell) - 1;
    }
    let p = pending.get(index);
    if (!p) pending.set(index, (p = { errors: 0, startup: [], total: [], iso: [] }));
    if (!line.ok || !line.metrics) {
      p.errors++;
      continue;
    }
    p.startup.push(line.metrics.startup_us);
    p.total.push(line.metrics.total_us);
    const iso = line.energy?.isolated_energy_uwh;
    if (iso !== null && iso !== undefined && Number.isFinite(iso)) p.iso.push(iso);
  }
  for (const [index, p] of pending) {
    const old = next[index] as Cell;
    next[index] = {
      ...old,
      n: old.n + p.startup.length,
      errors: old.errors + p.errors,
      startupUs: old.startupUs.append(p.startup),
      totalUs: old.totalUs.append(p.total),
      isolatedUwh: old.isolatedUwh.append(p.iso),
    };
  }
  return next;
}

/** Appends late-arriving isolated energies to their cells' series (one new Cell per touched cell). */
function addEnergies(cells: Cell[], items: readonly EnergyItem[]): Cell[] {
  const pending = new Map<number, number[]>();
  for (const item of items) {
    const index = cells.findIndex((c) => c.function === item.function && c.runtime === item.runtime && c.mode === item.mode);
    if (index < 0 || !Number.isFinite(item.isolatedUwh)) continue;
    const list = pending.get(index);
    if (list) list.push(item.isolatedUwh);
    else pending.set(index, [item.isolatedUwh]);
  }
  if (pending.size === 0) return cells;
  const next = [...cells];
  for (const [index, values] of pending) {
    const old = next[index] as Cell;
    next[index] = { ...old, isolatedUwh: old.isolatedUwh.append(values) };
  }
  return next;
}

function addSamples(state: UiState, samples: readonly Sample[]): UiState {
  if (samples.length === 0) return state;
  const buckets = [...state.buckets];
  for (const s of samples) {
    const index = Math.floor(s.t_start_us / BUCKET_US);
    const last = buckets[buckets.length - 1];
    if (last && last.index === index) {
      buckets[buckets.length - 1] = { index, sum: last.sum + s.power_w, count: last.count + 1 };
    } else if (!last || index > last.index) {
      buckets.push({ index, sum: s.power_w, count: 1 });
    }
    // A sample older than the newest bucket (out of order) is counted but not charted.
  }
  const newest = buckets[buckets.length - 1]!.index;
  const firstKept = buckets.findIndex((b) => b.index > newest - CHART_BUCKETS);
  return {
    ...state,
    buckets: firstKept > 0 ? buckets.slice(firstKept) : buckets,
    currentW: samples[samples.length - 1]!.power_w,
    samples: state.samples + samples.length,
  };
}

/** The chart series: one mean per bucket over the last minute, empty buckets carried forward. */
export function chartSeries(state: UiState): number[] {
  const { buckets } = state;
  const last = buckets[buckets.length - 1];
  if (!last) return [];
  const out: number[] = [];
  let j = 0;
  let carry = buckets[0]!.sum / buckets[0]!.count;
  for (let index = Math.max(buckets[0]!.index, last.index - CHART_BUCKETS + 1); index <= last.index; index++) {
    while (j < buckets.length && buckets[j]!.index < index) j++;
    const b = buckets[j];
    if (b && b.index === index) carry = b.sum / b.count;
    out.push(carry);
  }
  return out;
}

/** Samples per second over the last RATE_SECONDS of complete buckets. */
export function sampleRate(state: UiState): number {
  const { buckets } = state;
  const last = buckets[buckets.length - 1];
  if (!last) return 0;
  const span = Math.round((RATE_SECONDS * 1e6) / BUCKET_US);
  // Skip the newest (still filling) bucket.
  const from = last.index - span;
  let count = 0;
  let first = last.index;
  for (const b of buckets) {
    if (b.index >= from && b.index < last.index) {
      count += b.count;
      first = Math.min(first, b.index);
    }
  }
  const seconds = ((last.index - first) * BUCKET_US) / 1e6;
  return seconds > 0 ? count / seconds : 0;
}

/** Isolated powers kept for the drift caveat's median. */
const KEEP_POWERS = 512;

function recentPowers(kept: number[], items: readonly EnergyItem[]): number[] {
  const added = items.flatMap((i) => (i.isolatedW === null || i.isolatedW === undefined ? [] : [i.isolatedW]));
  if (added.length === 0) return kept;
  return [...kept, ...added].slice(-KEEP_POWERS);
}
