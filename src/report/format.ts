/** Number formatting shared by the human-readable exporters (Markdown, HTML, summary.md). */

/**
 * en-US formatters by number of decimals, made once: `toLocaleString(locale, options)` builds a new
 * Intl.NumberFormat on every call (~20 µs), which made the Markdown of a thesis-sized run take 0.2 s.
 */
const formatters: Intl.NumberFormat[] = [];
function formatter(decimals: number): Intl.NumberFormat {
  return (formatters[decimals] ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: decimals, useGrouping: true }));
}

/** Rounds to `digits` significant digits without exponent notation for the magnitudes we report. */
export function sig(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const d = Math.min(decimals, 12);
  return formatter(d).format(Number(x.toFixed(d)));
}

/** A duration in µs as µs, ms or s with three significant digits ("152 µs", "412 ms", "1.23 s"). */
export function duration(us: number): string {
  if (!Number.isFinite(us)) return '—';
  const a = Math.abs(us);
  if (a < 1000) return `${sig(us)} µs`;
  if (a < 1_000_000) return `${sig(us / 1000)} ms`;
  return `${sig(us / 1_000_000)} s`;
}

/** An energy in µWh ("5.31 µWh", "1,080 µWh"); µWh is the unit the thesis reported per invocation. */
export function energy(uwh: number): string {
  if (!Number.isFinite(uwh)) return '—';
  return `${sig(uwh)} µWh`;
}

/** A ratio ("2,650×", "0.98×"). */
export function ratio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return `${sig(r)}×`;
}

/** A p-value with a floor so tiny values read as "< 0.001". */
export function pValue(p: number): string {
  if (!Number.isFinite(p)) return '—';
  if (p < 0.001) return '< 0.001';
  return sig(p, 2);
}
