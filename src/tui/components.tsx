/**
 * The console screen's components: they only render a UiState. Tested with
 * ink-testing-library; the live wiring (reducer, keys) is in ConsoleApp.tsx.
 */
import asciichart from 'asciichart';
import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { driftCaveatFor } from '../meter/baseline-drift.js';
import { duration, energy, sig } from '../report/format.js';
import { CHART_SECONDS, chartSeries, sampleRate, type Cell, type UiState } from './state.js';

const BAR_WIDTH = 30;

/** Suite, target, meter, progress bar with ETA and phase. */
export function Header({ state }: { state: UiState }): React.JSX.Element {
  const fraction = state.total > 0 ? state.done / state.total : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const eta = state.etaMs === null ? '' : ` · ETA ${duration(state.etaMs * 1000)}`;
  const phase = state.paused ? 'paused' : state.status === 'stopping' ? 'stopping…' : state.phase;
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nebula console</Text> — suite <Text color="cyan">{state.suite || '…'}</Text>
        {state.runId ? <Text dimColor> ({state.runId})</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        target {state.target || '…'}
        {state.targetVersion ? ` (nebula ${state.targetVersion})` : ''}
        {state.clock ? ` · clock offset ${Math.round(state.clock.offsetUs)} µs ± ${state.clock.uncertaintyUs} µs` : ''}
      </Text>
      <Text wrap="truncate-end">meter {state.meter || 'none'}</Text>
      <Text>
        <Text color="green">{'█'.repeat(filled)}</Text>
        <Text dimColor>{'░'.repeat(BAR_WIDTH - filled)}</Text> {state.done}/{state.total} ({Math.floor(fraction * 100)}%){eta} · {phase}
        {state.failed ? <Text color="red"> · {state.failed} failed</Text> : null}
      </Text>
    </Box>
  );
}

/**
 * Under load, the stage being driven: achieved vs asked requests/s, in flight, latency p50/p99 of the
 * stage so far (from the intended send time), failures, drops and the power now.
 */
export function LoadLine({ state }: { state: UiState }): React.JSX.Element | null {
  const l = state.load;
  if (!l) return null;
  const asked = l.askedRps === null ? `closed loop of ${l.concurrency ?? '?'}` : `${sig(l.askedRps)} req/s asked`;
  const lat = (us: number | null): string => (us === null ? '—' : duration(us));
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text wrap="truncate-end">
        <Text bold>load</Text> {l.runtime} stage {l.stage + 1}/{l.stages} · {sig(l.elapsedS)}/{sig(l.seconds)} s{l.finished ? ' (done)' : ''} · {asked} ·{' '}
        <Text color="cyan">{sig(l.achievedRps)} req/s achieved</Text>
      </Text>
      <Text wrap="truncate-end">
        {l.inFlight} in flight · p50 {lat(l.p50Us)} · p99 {lat(l.p99Us)} · {l.completed} completed
        <Text color={l.failed ? 'red' : undefined}> · {l.failed} failed</Text>
        <Text color={l.dropped ? 'yellow' : undefined}> · {l.dropped} dropped</Text>
        {state.currentW === null ? '' : ` · ${state.currentW.toFixed(2)} W`}
      </Text>
    </Box>
  );
}

/** Column widths of the live table: 76 characters, so it fits an 80-column terminal. */
const COL = { fn: 18, runtime: 12, n: 5, startup: 11, total: 11, energy: 13, errors: 7 } as const;

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * A table row's text, memoised per Cell object: the reducer replaces only the cells a batch touched,
 * so on a long run each frame computes the medians of those cells alone (once per new version).
 */
const rowText = new WeakMap<Cell, string>();
function cellText(c: Cell): string {
  let text = rowText.get(c);
  if (text === undefined) {
    text = [
      pad(c.function.length > COL.fn - 1 ? `${c.function.slice(0, COL.fn - 2)}…` : c.function, COL.fn),
      // "pw": prewarmed calls (docs/suites.md, "Start modes").
      pad(c.mode ? `${c.runtime} pw` : c.runtime, COL.runtime),
      pad(String(c.n), COL.n, true),
      pad(duration(c.startupUs.median()), COL.startup, true),
      pad(duration(c.totalUs.median()), COL.total, true),
      pad(energy(c.isolatedUwh.median()), COL.energy, true),
    ].join('');
    rowText.set(c, text);
  }
  return text;
}

/** One row per function × runtime: n, p50 startup, p50 total, p50 isolated energy, errors. */
export function StatsTable({ cells }: { cells: Cell[] }): React.JSX.Element {
  const rows = useMemo(() => cells.map((c) => ({ key: `${c.function}/${c.runtime}/${c.mode ?? 'cold'}`, text: cellText(c), errors: c.errors })), [cells]);
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>
        {[
          pad('function', COL.fn),
          pad('runtime', COL.runtime),
          pad('n', COL.n, true),
          pad('p50 start', COL.startup, true),
          pad('p50 total', COL.total, true),
          pad('p50 iso. E', COL.energy, true),
          pad('errors', COL.errors, true),
        ].join('')}
      </Text>
      {rows.length === 0 ? <Text dimColor>no invocations yet</Text> : null}
      {rows.map((r) => (
        <Text key={r.key}>
          {r.text}
          <Text color={r.errors ? 'red' : undefined}>{pad(String(r.errors), COL.errors, true)}</Text>
        </Text>
      ))}
    </Box>
  );
}

/** The last minute of power with the baseline drawn, the current watts and the sample rate. */
export function PowerChart({ state, height = 6, width = 64 }: { state: UiState; height?: number; width?: number }): React.JSX.Element {
  const series = useMemo(() => fit(chartSeries(state), width), [state.buckets, width]);
  const rate = useMemo(() => sampleRate(state), [state.buckets]);
  const chart = useMemo(() => {
    if (series.length < 2) return null;
    const lines = [series];
    if (state.baselineW !== null) lines.push(series.map(() => state.baselineW as number));
    return asciichart.plot(lines, {
      height,
      colors: [asciichart.green, asciichart.darkgray],
      format: (x: number) => `${x.toFixed(2).padStart(7)} W `,
    });
  }, [series, state.baselineW, height]);
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>power</Text> (last {CHART_SECONDS} s){' '}
        {state.currentW === null ? 'no samples yet' : `${state.currentW.toFixed(3)} W now`} · {rate.toFixed(0)} samples/s
        {state.baselineW !== null ? ` · baseline ${state.baselineW.toFixed(3)} W` : ''}
        {state.driftW !== null ? ` · drift ${state.driftW >= 0 ? '+' : ''}${state.driftW.toFixed(3)} W` : ''}
        {state.gaps ? <Text color="yellow"> · {state.gaps} gap{state.gaps > 1 ? 's' : ''}</Text> : null}
      </Text>
      {chart ? <Text>{chart}</Text> : null}
    </Box>
  );
}

/** Averages neighbouring points so a series fits `width` columns. */
function fit(series: number[], width: number): number[] {
  if (series.length <= width) return series;
  const out: number[] = [];
  const per = series.length / width;
  for (let i = 0; i < width; i++) {
    const part = series.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    out.push(part.reduce((a, b) => a + b, 0) / part.length);
  }
  return out;
}

/** Terminal size the screen lays itself out for. */
export interface ScreenSize {
  columns: number;
  rows: number;
}

/**
 * Chart rows and columns that fit the terminal below the header and table: a screen taller than the
 * terminal makes Ink clear and redraw everything each frame (flicker), so the chart gives way first.
 * Returns null when there is no room for a useful chart.
 */
export function chartLayout(size: ScreenSize, cells: number, hasError: boolean, hasLoad = false, hasCaveat = false): { height: number; width: number } | null {
  // header 4 · load margin+2 lines · table margin+title+rows · chart margin+title · caveat line · error margin+line · footer margin+line · 1 spare
  const used = 4 + (hasLoad ? 3 : 0) + 2 + Math.max(1, cells) + 2 + (hasCaveat ? 1 : 0) + (hasError ? 2 : 0) + 2 + 1;
  const plotRows = size.rows - used; // asciichart draws height + 1 rows
  if (plotRows < 3) return null;
  return { height: Math.min(10, plotRows - 1), width: Math.max(10, Math.min(120, size.columns - 12)) };
}

/** The whole screen. */
/** The short drift caveat (docs/energy.md, "Baseline and drift"), or null while the drift is small or unknown. */
export function driftCaveatLine(state: UiState): string | null {
  const powers = [...state.isolatedPowersW].sort((a, b) => a - b);
  const mid = powers.length >> 1;
  const medianW = powers.length === 0 ? null : powers.length % 2 ? powers[mid]! : (powers[mid - 1]! + powers[mid]!) / 2;
  const caveat = driftCaveatFor(state.driftW, medianW);
  if (!caveat) return null;
  const sign = caveat.drift_w >= 0 ? '+' : '';
  // ≤ 80 columns: the details are in summary.md.
  return `caveat: idle drift ${sign}${caveat.drift_w.toFixed(3)} W vs isolated ${caveat.median_isolated_w.toFixed(3)} W: isolated energies uncertain`;
}

export function Screen({ state, showChart, size = { columns: 80, rows: 40 } }: { state: UiState; showChart: boolean; size?: ScreenSize }): React.JSX.Element {
  const caveat = driftCaveatLine(state);
  const layout = showChart ? chartLayout(size, state.cells.length, state.lastError !== null, state.load !== null, caveat !== null) : null;
  return (
    <Box flexDirection="column">
      <Header state={state} />
      <LoadLine state={state} />
      <StatsTable cells={state.cells} />
      {layout ? <PowerChart state={state} height={layout.height} width={layout.width} /> : null}
      {caveat ? (
        <Text color="yellow" wrap="truncate-end">
          {caveat}
        </Text>
      ) : null}
      {state.lastError ? (
        <Box marginTop={1}>
          <Text color="red" wrap="truncate-end">
            last error: {state.lastError}
          </Text>
        </Box>
      ) : null}
      <Box marginTop={1}>
        <Text dimColor>{state.status === 'running' ? `q stop · p ${state.paused ? 'resume' : 'pause'}` : state.status}</Text>
      </Box>
    </Box>
  );
}
