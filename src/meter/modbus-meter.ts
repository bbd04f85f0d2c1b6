/**
 * `modbus://`: a PDU read over Modbus TCP with modbus-serial. One request reads the map's whole block
 * (12 registers cost the same round trip as 2). Power = V × I × PF from the measured (or a constant)
 * voltage; the device's own whole-watt power and whole-Wh energy registers are kept alongside.
 */
import modbusSerial from 'modbus-serial';

// modbus-serial is CommonJS with `module.exports.default = module.exports`: under NodeNext the default
// import is typed as the module namespace, and its `.default` is the client class (the same object).
const ModbusRTU = modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;
import { nowUs } from '../clock.js';
import { describeError, MeterError, UsageError } from '../errors.js';
import type { Sample } from '../protocol/results.js';
import type { Meter } from './meter.js';
import { decodeBlock, loadRegisterMap, type DecodedValues, type RegisterMap } from './register-map.js';
import type { ModbusSpec } from './spec.js';

/** modbus-serial's errors are plain objects, not `instanceof Error`: look at errno / modbusCode / name. */
interface ForeignError { errno?: unknown; code?: unknown; modbusCode?: unknown; name?: unknown; message?: unknown }

function field(error: unknown, key: keyof ForeignError): unknown {
  return typeof error === 'object' && error !== null ? (error as ForeignError)[key] : undefined;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** Turns what modbus-serial or net threw into a MeterError a user can act on. */
export function explainModbusError(error: unknown, spec: ModbusSpec, map: RegisterMap, phase: 'connect' | 'read'): MeterError {
  if (error instanceof MeterError) return error;
  const where = `${spec.host}:${spec.port}`;
  // net errors carry the name in `code` (errno is a number there); modbus-serial's carry it in `errno`.
  const code = field(error, 'code');
  const errno = typeof code === 'string' ? code : field(error, 'errno');
  const modbusCode = field(error, 'modbusCode');
  const detail = describeError(error);
  const block = `${map.function === 4 ? 'input' : 'holding'} registers ${hex(map.start)}–${hex(map.start + map.length - 1)}`;
  if (typeof modbusCode === 'number') {
    if (modbusCode === 2) {
      return new MeterError(`the meter at ${where} rejected the read of ${block}: illegal data address (Modbus exception 2)`, {
        code: 'meter-register', cause: error,
        hint: `register map "${map.name}" does not fit this device — wrong map? Pick another map= or write a JSON map (docs/energy.md, "Adding a register map")`,
      });
    }
    if (modbusCode === 1) {
      return new MeterError(`the meter at ${where} does not support Modbus function ${map.function} (exception 1: illegal function)`, {
        code: 'meter-register', cause: error,
        hint: `register map "${map.name}" uses function ${map.function}; the device may keep these values in ${map.function === 4 ? 'holding (3)' : 'input (4)'} registers — check map=`,
      });
    }
    return new MeterError(`the meter at ${where} answered with Modbus exception ${modbusCode}: ${detail}`, { code: 'meter-device', cause: error, hint: 'the device reports a fault; check it in its web interface and try again' });
  }
  if (errno === 'ETIMEDOUT' || /timed out/i.test(detail)) {
    return phase === 'connect'
      ? new MeterError(`cannot connect to the meter at ${where}: no answer within ${spec.timeoutMs} ms`, {
          code: 'meter-unreachable', cause: error,
          hint: `check that ${spec.host} is the PDU's address, that it is on this network, and that no firewall drops port ${spec.port}`,
        })
      : new MeterError(`the meter at ${where} did not answer a read of ${block} within ${spec.timeoutMs} ms (unit id ${spec.unit})`, {
          code: 'meter-timeout', cause: error,
          hint: `a Modbus server or gateway bound to another unit id drops requests silently — check ?unit= (the Gude ignores it); also check Modbus TCP is enabled on the device, or raise ?timeout_ms= on a slow link`,
        });
  }
  if (errno === 'ECONNREFUSED') {
    return new MeterError(`cannot connect to the meter at ${where}: connection refused`, {
      code: 'meter-unreachable', cause: error,
      hint: `nothing listens on port ${spec.port} of ${spec.host}: enable Modbus TCP in the PDU's web interface and check the port (default 502); for a demo run \`nebula meter simulate\` and use modbus://127.0.0.1:5020`,
    });
  }
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN') {
    return new MeterError(`cannot resolve the meter host "${spec.host}"`, { code: 'meter-unreachable', cause: error, hint: 'check the host name in the meter spec, or use the PDU\'s IP address' });
  }
  if (errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH') {
    return new MeterError(`cannot reach the meter at ${where} (${String(errno)})`, { code: 'meter-unreachable', cause: error, hint: 'check the cable and that the bench machine is on the PDU\'s network' });
  }
  return new MeterError(`meter at ${where}: ${phase} failed: ${detail}${typeof errno === 'string' ? ` (${errno})` : ''}`, {
    code: 'meter-connection', cause: error,
    hint: 'the connection dropped; the sampler reconnects by itself — if this persists check the PDU and the network',
  });
}

/** Checks decoded values for physical sense (the wrong map or word order yields nonsense, not errors). */
export function checkPlausible(values: DecodedValues, power: number, where: string, mapName: string): void {
  const hint = `values like these usually mean register map "${mapName}" does not fit the device (wrong addresses, scale or word order)`;
  const complain = (what: string): never => {
    throw new MeterError(`the meter at ${where} gave an implausible reading: ${what}`, { code: 'meter-implausible', hint });
  };
  if (values.pf !== undefined && (values.pf > 1 || values.pf < 0)) complain(`power factor ${values.pf} outside [0, 1]`);
  if (values.voltage_v !== undefined && (values.voltage_v < 0 || values.voltage_v > 1000)) complain(`voltage ${values.voltage_v} V`);
  if (values.current_a !== undefined && values.current_a < 0) complain(`negative current ${values.current_a} A`);
  if (values.power_w !== undefined && values.power_w < 0) complain(`negative device power ${values.power_w} W`);
  if (!Number.isFinite(power) || power < 0) complain(`negative power ${power} W`);
}

/** One register step of each value, in its unit (the map's scales). */
export type RegisterSteps = Partial<Record<'voltage_v' | 'current_a' | 'pf' | 'power_w', number>>;

/** The steps of a map's fields (a field's scale is one count of its register). */
export function registerSteps(map: RegisterMap): RegisterSteps {
  const steps: RegisterSteps = {};
  for (const k of ['voltage_v', 'current_a', 'pf', 'power_w'] as const) {
    const f = map.fields[k];
    if (f) steps[k] = f.scale;
  }
  return steps;
}

/**
 * Power and the Sample fields from decoded block values (pure). With `steps`, `resolution_w` is the
 * worst-case quantisation error of the power: half a step of each register carried through
 * V × I × PF (a constant voltage has none), or half a step of the power register when that is used.
 */
export function sampleFromValues(values: DecodedValues, voltage: 'measured' | number, t_start_us: number, t_end_us: number, steps?: RegisterSteps): Sample {
  const v = voltage === 'measured' ? values.voltage_v : voltage;
  const computed = v !== undefined && values.current_a !== undefined && values.pf !== undefined;
  const power_w = computed ? v * values.current_a! * values.pf! : (values.power_w ?? Number.NaN);
  const sample: Sample = { t_start_us, t_end_us, power_w: Number(power_w.toPrecision(12)) };
  if (steps) {
    const resolution = computed
      ? 0.5 * ((voltage === 'measured' ? (steps.voltage_v ?? 0) : 0) * values.current_a! * values.pf! + v * (steps.current_a ?? 0) * values.pf! + v * values.current_a! * (steps.pf ?? 0))
      : 0.5 * (steps.power_w ?? 0);
    sample.resolution_w = Number(resolution.toPrecision(6));
  }
  if (v !== undefined) sample.voltage_v = v;
  if (values.current_a !== undefined) sample.current_a = values.current_a;
  if (values.pf !== undefined) sample.pf = values.pf;
  if (values.energy_wh !== undefined) sample.energy_wh = values.energy_wh;
  if (values.power_w !== undefined) sample.device_power_w = values.power_w;
  return sample;
}

export class ModbusMeter implements Meter {
  readonly kind = 'modbus' as const;
  #client: ModbusRTU | undefined;
  #connecting: Promise<ModbusRTU> | undefined;
  #closed = false;
  /** Rejecters of reads in flight: modbus-serial's destroy() cancels their timers but never settles them. */
  readonly #inFlight = new Set<(error: unknown) => void>();
  /** The last decoded block, frequency included (not part of Sample). */
  lastValues: DecodedValues | undefined;

  private constructor(readonly spec: string, readonly parsed: ModbusSpec, readonly map: RegisterMap) {}

  /** Loads the map, connects and reads once, so a bad host/port/unit/map fails here with a hint. */
  static async open(spec: string, parsed: ModbusSpec, options: { probe?: boolean } = {}): Promise<ModbusMeter> {
    const map = await loadRegisterMap(parsed.map);
    if (parsed.voltage === 'measured' && !map.fields.voltage_v && !map.fields.power_w) {
      // Otherwise every read would fail as an "implausible reading" of NaN W.
      throw new UsageError(`register map "${map.name}" has no voltage_v register for V × I × PF and no power_w to fall back on`, {
        code: 'meter-spec',
        hint: 'give the voltage as a constant (modbus://HOST?voltage=230) or add voltage_v or power_w to the map',
      });
    }
    const meter = new ModbusMeter(spec, parsed, map);
    if (options.probe !== false) {
      try {
        await meter.read();
      } catch (error) {
        await meter.close();
        throw error;
      }
    }
    return meter;
  }

  describe(): string {
    const volts = this.parsed.voltage === 'measured' ? 'measured voltage' : `constant ${this.parsed.voltage} V`;
    return `${this.map.description || this.map.name} at ${this.parsed.host}:${this.parsed.port} (unit ${this.parsed.unit}, map ${this.map.name}, ${volts})`;
  }

  async #connect(): Promise<ModbusRTU> {
    if (this.#client?.isOpen) return this.#client;
    this.#connecting ??= (async () => {
      this.#drop();
      const client = new ModbusRTU();
      // Without a timeout a server that accepts but never answers leaves reads pending forever;
      // modbus-serial also copies it onto the socket, which bounds a connect to a silent host.
      client.setTimeout(this.parsed.timeoutMs);
      client.setID(this.parsed.unit);
      client.on('error', () => {
        // Socket errors also fail the pending request, which is where they are reported.
      });
      try {
        await withDeadline(client.connectTCP(this.parsed.host, { port: this.parsed.port }), this.parsed.timeoutMs, { errno: 'ETIMEDOUT', message: 'connect timed out' });
      } catch (error) {
        client.destroy(() => undefined);
        throw explainModbusError(error, this.parsed, this.map, 'connect');
      }
      if (this.#closed) {
        // close() ran while this connect was pending: the socket must not outlive the meter.
        client.destroy(() => undefined);
        throw new MeterError('meter is closed', { code: 'meter-closed' });
      }
      this.#client = client;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (client) client.destroy(() => undefined);
    for (const reject of this.#inFlight) reject({ errno: 'ECONNRESET', message: 'connection dropped while reading' });
    this.#inFlight.clear();
  }

  async read(): Promise<Sample> {
    if (this.#closed) throw new MeterError('meter is closed', { code: 'meter-closed' });
    const client = await this.#connect();
    const t_start_us = nowUs();
    let words: number[];
    try {
      const request = this.map.function === 4
        ? client.readInputRegisters(this.map.start, this.map.length)
        : client.readHoldingRegisters(this.map.start, this.map.length);
      let reject: (error: unknown) => void = () => undefined;
      const dropped = new Promise<never>((_, r) => {
        reject = r;
      });
      this.#inFlight.add(reject);
      try {
        words = (await Promise.race([request, dropped])).data;
      } finally {
        this.#inFlight.delete(reject);
      }
    } catch (error) {
      // A device exception leaves the link healthy; anything else (timeout, reset) makes it suspect.
      if (typeof field(error, 'modbusCode') !== 'number') this.#drop();
      throw explainModbusError(error, this.parsed, this.map, 'read');
    }
    const t_end_us = nowUs();
    const values = decodeBlock(this.map, words);
    this.lastValues = values;
    const sample = sampleFromValues(values, this.parsed.voltage, t_start_us, t_end_us, registerSteps(this.map));
    checkPlausible(values, sample.power_w, `${this.parsed.host}:${this.parsed.port}`, this.map.name);
    return sample;
  }

  async reset(): Promise<void> {
    this.#drop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#drop();
  }
}

/** Rejects with `reason` if `promise` has not settled within `ms` (the timer never outlives it). */
async function withDeadline<T>(promise: Promise<T>, ms: number, reason: unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(reason), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
