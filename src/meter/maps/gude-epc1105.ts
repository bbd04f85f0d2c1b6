/**
 * Gude Expert Power Control 1104/1105, Modbus TCP (Gude manual, "Modbus TCP"): input registers
 * (function 4), line sensor block at 0x400 (address = 0x400 + line·0x120 + phase·0x60 + field·2),
 * two words per value, high word first, signed 32-bit. The unit id is ignored by the device.
 */
import type { RegisterMapInput } from '../register-map.js';

export const gudeEpc1105 = {
  name: 'gude-epc1105',
  description: 'Gude Expert Power Control 1105, line 1 sensor block (0x400–0x40b)',
  function: 4,
  start: 0x400,
  length: 12,
  word_order: 'high-first',
  fields: {
    energy_wh: { address: 0x400, words: 2, signed: true, scale: 1 },
    power_w: { address: 0x402, words: 2, signed: true, scale: 1 },
    voltage_v: { address: 0x404, words: 2, signed: true, scale: 1 },
    current_a: { address: 0x406, words: 2, signed: true, scale: 0.001 },
    frequency_hz: { address: 0x408, words: 2, signed: true, scale: 0.01 },
    pf: { address: 0x40a, words: 2, signed: true, scale: 0.001 },
  },
} satisfies RegisterMapInput;
