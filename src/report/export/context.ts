/** What every exporter receives: the computed comparison and the runs it was computed from. */
import type { Report } from '../compare.js';
import type { LoadedRun } from '../load.js';

export interface ReportContext {
  report: Report;
  runs: readonly LoadedRun[];
}
