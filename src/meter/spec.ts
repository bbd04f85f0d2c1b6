/** Meter spec strings (docs/energy.md): modbus://HOST[:PORT][?unit=N&map=NAME&voltage=measured|240], sim, rapl, none. */
import { UsageError } from '../errors.js';
import { DEFAULT_MAP } from './register-map.js';

export interface ModbusSpec {
  kind: 'modbus';
  host: string;
  port: number;
  unit: number;
  /** Built-in map name or path to a JSON map file. */
  map: string;
  /** 'measured' uses the voltage register; a number is a constant (the thesis assumed 240 V). */
  voltage: 'measured' | number;
  /** Per-read timeout. */
  timeoutMs: number;
}
export interface SimSpec { kind: 'sim'; idleW: number; coreW: number }
export interface RaplSpec { kind: 'rapl'; root: string }
export interface NoneSpec { kind: 'none' }
export type MeterSpec = ModbusSpec | SimSpec | RaplSpec | NoneSpec;

export const DEFAULT_MODBUS_PORT = 502;
export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_IDLE_W = 2.5;
export const DEFAULT_CORE_W = 1.5;
export const RAPL_ROOT = '/sys/class/powercap';

const FORMS = 'modbus://HOST[:PORT][?unit=N&map=NAME&voltage=measured|240&timeout_ms=MS], sim[?idle_w=W&core_w=W], rapl, none';

function bad(spec: string, why: string): UsageError {
  return new UsageError(`bad meter spec "${spec}": ${why}`, { code: 'meter-spec', hint: `a meter spec is one of ${FORMS}` });
}

function numberParam(spec: string, params: URLSearchParams, name: string, fallback: number, min: number, max: number, integer = false): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw bad(spec, `${name}=${text} is not ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return value;
}

function checkKeys(spec: string, params: URLSearchParams, allowed: readonly string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) throw bad(spec, `unknown parameter "${key}" (known: ${allowed.join(', ') || 'none'})`);
  }
}

/** Parses a meter spec; throws UsageError naming the spec and the part at fault. */
export function parseMeterSpec(spec: string): MeterSpec {
  const trimmed = spec.trim();
  const [head = '', query = ''] = trimmed.split('?', 2) as [string?, string?];
  const params = new URLSearchParams(query);
  if (head === 'none' || head === '') {
    if (head === '') throw bad(spec, 'empty');
    checkKeys(spec, params, []);
    return { kind: 'none' };
  }
  if (head === 'sim') {
    checkKeys(spec, params, ['idle_w', 'core_w']);
    return {
      kind: 'sim',
      idleW: numberParam(spec, params, 'idle_w', DEFAULT_IDLE_W, 0, 100_000),
      coreW: numberParam(spec, params, 'core_w', DEFAULT_CORE_W, 0, 100_000),
    };
  }
  if (head === 'rapl') {
    checkKeys(spec, params, ['root']);
    return { kind: 'rapl', root: params.get('root') ?? RAPL_ROOT };
  }
  if (!head.startsWith('modbus://')) throw bad(spec, 'unknown meter kind');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw bad(spec, 'not a valid modbus:// URL');
  }
  if (url.hostname === '') throw bad(spec, 'no host');
  if (url.pathname !== '' && url.pathname !== '/') throw bad(spec, `unexpected path "${url.pathname}"`);
  checkKeys(spec, url.searchParams, ['unit', 'map', 'voltage', 'timeout_ms']);
  const voltageText = url.searchParams.get('voltage') ?? 'measured';
  let voltage: 'measured' | number = 'measured';
  if (voltageText !== 'measured') {
    voltage = Number(voltageText);
    if (!Number.isFinite(voltage) || voltage <= 0 || voltage > 1000) throw bad(spec, `voltage=${voltageText} is neither "measured" nor a voltage like 240`);
  }
  return {
    kind: 'modbus',
    // URL keeps IPv6 literals bracketed; net.connect wants them bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_MODBUS_PORT : Number(url.port),
    unit: numberParam(spec, url.searchParams, 'unit', 1, 0, 255, true),
    map: url.searchParams.get('map') ?? DEFAULT_MAP,
    voltage,
    timeoutMs: numberParam(spec, url.searchParams, 'timeout_ms', DEFAULT_TIMEOUT_MS, 1, 600_000, true),
  };
}
