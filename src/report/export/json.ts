/** JSON exporter: the whole Report (every figure, CI and test), NaN written as null. */
import type { ReportContext } from './context.js';

/** Serializes the report as indented JSON. */
export function serialize({ report }: ReportContext): string {
  return JSON.stringify({ generator: 'nebula report', ...report }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
