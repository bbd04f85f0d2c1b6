/** The meter package: what the console, the demo and the commands import. */
export type { Meter } from './meter.js';
export { openMeter, NoneMeter } from './open-meter.js';
export { parseMeterSpec, type MeterSpec, type ModbusSpec } from './spec.js';
export { Sampler, type SamplerOptions, type SamplerStats, type ReconnectInfo } from './sampler.js';
export { startSimulatedPdu, type SimulatedPdu, type SimulatedPduOptions } from './simulated-pdu.js';
export {
  attributeIntegrated,
  attributeThesis,
  attributeBatch,
  estimateBaseline,
  integratePower,
  powerAt,
  sortSamples,
  type EnergyWindow,
  type AttributionOptions,
} from './attribution.js';
export { loadRegisterMap, parseRegisterMap, decodeBlock, encodeBlock, BUILTIN_MAPS, type RegisterMap } from './register-map.js';
