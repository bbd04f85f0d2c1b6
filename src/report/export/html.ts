import { UsageError } from '../../errors.js';
import type { ReportContext } from './context.js';
/** Placeholder until the HTML exporter lands. */
export function serialize(_ctx: ReportContext): string {
  throw new UsageError('--format html is not implemented yet');
}
