/**
 * Register maps are data: a PDU is described by where its values live and how to scale them, so a
 * new device is a new map (a built-in table in maps/ or a user's JSON file), not new code.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { MeterError, UsageError } from '../errors.js';
import { gudeEpc1105 } from './maps/gude-epc1105.js';

const FieldSchema = z.strictObject({
  /** Absolute register address (must lie inside the block). */
  address: z.number().int().min(0).max(0xffff),
  /** 1 = 16-bit value, 2 = 32-bit value over two consecutive registers. */
  words: z.union([z.literal(1), z.literal(2)]).default(2),
  signed: z.boolean().default(true),
  /** Multiplier from the raw integer to the field's unit (e.g. 0.001 for mA → A). */
  scale: z.number().positive().default(1),
});
export type RegisterField = z.infer<typeof FieldSchema>;

/** The values a map can name; the suffix is the unit after scaling. */
export const FIELD_NAMES = ['energy_wh', 'power_w', 'voltage_v', 'current_a', 'frequency_hz', 'pf'] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

export const RegisterMapSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    /** Modbus function: 4 = read input registers, 3 = read holding registers. */
    function: z.union([z.literal(3), z.literal(4)]),
    /** One request reads [start, start + length): the whole block costs one round trip. */
    start: z.number().int().min(0).max(0xffff),
    length: z.number().int().min(1).max(125),
    /** Order of the two words of a 32-bit value. */
    word_order: z.enum(['high-first', 'low-first']).default('high-first'),
    fields: z.strictObject({
      energy_wh: FieldSchema.optional(),
      power_w: FieldSchema.optional(),
      voltage_v: FieldSchema.optional(),
      current_a: FieldSchema.optional(),
      frequency_hz: FieldSchema.optional(),
      pf: FieldSchema.optional(),
    }),
  })
  .superRefine((map, ctx) => {
    for (const [name, field] of Object.entries(map.fields)) {
      if (!field) continue;
      if (field.address < map.start || field.address + field.words > map.start + map.length) {
        ctx.addIssue({ code: 'custom', path: ['fields', name, 'address'], message: `register ${field.address} lies outside the block [${map.start}, ${map.start + map.length})` });
      }
    }
    const f = map.fields;
    if (!(f.current_a && f.pf) && !f.power_w) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'needs current_a and pf (power = V × I × PF) or at least power_w' });
    }
  });
export type RegisterMap = z.infer<typeof RegisterMapSchema>;
export type RegisterMapInput = z.input<typeof RegisterMapSchema>;

/** Built-in maps by name. */
export const BUILTIN_MAPS: Readonly<Record<string, RegisterMapInput>> = { 'gude-epc1105': gudeEpc1105 };
export const DEFAULT_MAP = 'gude-epc1105';

/** Validates a map object; `source` names where it came from in the error. */
export function parseRegisterMap(value: unknown, source: string): RegisterMap {
  const result = RegisterMapSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new UsageError(`register map ${source}: ${where}: ${issue?.message ?? 'invalid'}`, {
      hint: 'see docs/energy.md, "Adding a register map", for the fields a map needs',
    });
  }
  return result.data;
}

/** Resolves `map=` of a meter spec: a built-in name or a path to a JSON file. */
export async function loadRegisterMap(nameOrPath: string = DEFAULT_MAP): Promise<RegisterMap> {
  const builtin = BUILTIN_MAPS[nameOrPath];
  if (builtin) return parseRegisterMap(builtin, `"${nameOrPath}"`);
  if (!nameOrPath.includes('/') && !nameOrPath.endsWith('.json')) {
    throw new UsageError(`unknown register map "${nameOrPath}"`, {
      hint: `built-in maps: ${Object.keys(BUILTIN_MAPS).join(', ')}; or give a path to a JSON map file (map=./my-pdu.json)`,
    });
  }
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read register map file ${nameOrPath}`, { cause: error, hint: 'check the map= path of the meter spec' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`register map file ${nameOrPath} is not valid JSON`, { cause: error });
  }
  return parseRegisterMap(json, nameOrPath);
}

export type DecodedValues = Partial<Record<FieldName, number>>;

/**
 * Decodes one block read. 32-bit values are hi·65536 + lo (not `hi << 16 | lo`, which goes negative at
 * 2^31 in JS), then two's complement when signed; then scaled.
 */
export function decodeBlock(map: RegisterMap, words: readonly number[]): DecodedValues {
  if (words.length < map.length) {
    throw new MeterError(`short Modbus answer: ${words.length} registers, expected ${map.length}`, {
      code: 'meter-protocol',
      hint: `the device does not serve the block of map "${map.name}"; check map=`,
    });
  }
  const out: DecodedValues = {};
  for (const name of FIELD_NAMES) {
    const field = map.fields[name];
    if (!field) continue;
    const i = field.address - map.start;
    let raw: number;
    if (field.words === 1) {
      raw = words[i]! & 0xffff;
      if (field.signed && raw >= 0x8000) raw -= 0x10000;
    } else {
      const a = words[i]! & 0xffff;
      const b = words[i + 1]! & 0xffff;
      const [hi, lo] = map.word_order === 'high-first' ? [a, b] : [b, a];
      raw = hi * 65536 + lo;
      if (field.signed && raw >= 2 ** 31) raw -= 2 ** 32;
    }
    // toPrecision drops float noise such as 1234 × 0.001 = 1.2340000000000002.
    out[name] = Number((raw * field.scale).toPrecision(12));
  }
  return out;
}

/** Inverse of decodeBlock (for the simulated PDU and tests): values in units → register words. */
export function encodeBlock(map: RegisterMap, values: DecodedValues): number[] {
  const words = new Array<number>(map.length).fill(0);
  for (const name of FIELD_NAMES) {
    const field = map.fields[name];
    const value = values[name];
    if (!field || value === undefined) continue;
    const i = field.address - map.start;
    let raw = Math.round(value / field.scale);
    if (field.words === 1) {
      words[i] = ((raw % 0x10000) + 0x10000) % 0x10000;
    } else {
      if (raw < 0) raw += 2 ** 32;
      raw = ((raw % 2 ** 32) + 2 ** 32) % 2 ** 32;
      const hi = Math.floor(raw / 65536);
      const lo = raw % 65536;
      if (map.word_order === 'high-first') [words[i], words[i + 1]] = [hi, lo];
      else [words[i], words[i + 1]] = [lo, hi];
    }
  }
  return words;
}
