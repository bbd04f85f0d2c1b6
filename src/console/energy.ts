/** The energy ledger's Attribution backed by src/meter/attribution.ts. */
import { attributeIntegrated, attributeThesis, estimateBaseline } from '../meter/attribution.js';
import type { Attribution } from './energy-ledger.js';

export const meterAttribution: Attribution = {
  integrated: (samples, window, baselineW, gaps) => attributeIntegrated(samples, window, baselineW, { gaps }),
  thesis: (samples, window, baselineW, gaps) => attributeThesis(samples, window, baselineW, { gaps }),
  baseline: (samples) => estimateBaseline(samples),
};
