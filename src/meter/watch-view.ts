/** The text frame of `nebula meter watch`: pure, so it is tested without a terminal. */
import asciichart from 'asciichart';

export interface WatchState {
  description: string;
  powers: readonly number[];
  watts: number | null;
  rateHz: number;
  samples: number;
  gaps: number;
  status: string | null;
}

/** The last n values: the chart scrolls left as samples arrive. */
export function lastN<T>(values: readonly T[], n: number): T[] {
  return values.length <= n ? [...values] : values.slice(values.length - n);
}

/** Renders header + sparkline for a terminal of `columns` × `rows`. */
export function renderWatch(state: WatchState, columns: number, rows: number): string {
  const width = Math.max(10, columns - 14);
  const height = Math.max(3, Math.min(20, rows - 6));
  const series = lastN(state.powers, width);
  const watts = state.watts === null ? '—' : `${state.watts.toFixed(3)} W`;
  const header = [
    state.description,
    `power ${watts}   rate ${state.rateHz.toFixed(0)} samples/s   samples ${state.samples}   gaps ${state.gaps}`,
    state.status ?? '',
  ];
  const chart = series.length >= 2
    ? asciichart.plot(series, { height, format: (x: number) => `${x.toFixed(2).padStart(8)} W ` })
    : '(waiting for samples)';
  return `${header.join('\n')}\n${chart}\n(Ctrl-C to stop)`;
}
