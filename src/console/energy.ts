/** The energy ledger's Attribution backed by src/meter/attribution.ts. */
import { attributeIntegrated, attributeThesis, estimateBaseline } from '../meter/attribution.js';
import type { Attribution } from './energy-ledger.js';

export const meterAttribution: Attribution = {
  integrated: (samples, window, baselineW, options) => attributeIntegrated(samples, window, baselineW, options),
  thesis: (samples, window, baselineW, options) => attributeThesis(samples, window, baselineW, options),
  baseline: (samples) => estimateBaseline(samples),
};
