/**
 * A Gude-compatible PDU served over Modbus TCP (modbus-serial ServerTCP) whose power follows this
 * machine's CPU load and whose energy register integrates it — for demos, tests and users without a PDU.
 * Values look like a Raspberry Pi on a Gude: 230 V ± noise, PF 0.50–0.55 rising with load, current
 * from P / (V · PF), all quantised as the device quantises them (V, mA, W, Wh, 0.01 Hz, 0.001).
 */
import net from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { UsageError } from '../errors.js';
import { CpuLoad, modelPower } from './cpu-load.js';
import { encodeBlock, parseRegisterMap, type DecodedValues, type RegisterMap } from './register-map.js';
import { gudeEpc1105 } from './maps/gude-epc1105.js';

export interface SimulatedPduOptions {
  host?: string;
  /** 0 = an ephemeral port (reported in the result). */
  port?: number;
  idleW?: number;
  coreW?: number;
  /** Answer only this unit id (default: every unit, like the Gude). */
  unitId?: number;
  /** Energy register start value, Wh. */
  initialEnergyWh?: number;
  /** Replaces the CPU-load model: power in W at each read (tests use it for known values). */
  powerW?: () => number;
  /** Replaces the whole register block (tests of decoding): raw values in map units. */
  values?: () => DecodedValues;
  /** Voltage noise amplitude, V (uniform ±). */
  voltageNoiseV?: number;
  /**
   * How often the device refreshes the values it serves, ms (0: on every read). A real PDU measures
   * on its own schedule: between refreshes every read returns the same block.
   */
  refreshMs?: number;
}

export interface SimulatedPdu {
  host: string;
  port: number;
  /** modbus://host:port — ready to pass to openMeter(). */
  spec: string;
  /** Reads served so far. */
  readonly reads: number;
  close(): Promise<void>;
}

const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 2, msg: 'Illegal data address' };

/** Asks the OS for a free port: ServerTCP treats port 0 as "default" (502), so it cannot do this itself. */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function listen(vector: ConstructorParameters<typeof ServerTCP>[0], host: string, port: number, unitID: number | undefined): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    const server = new ServerTCP(vector, { host, port, ...(unitID === undefined ? {} : { unitID }) });
    server.once('initialized', () => resolve(server));
    server.once('serverError', (error) => {
      server.close(() => undefined);
      reject(error ?? new Error('server error'));
    });
    // A client that resets its connection is normal here; without a listener it would throw.
    server.on('socketError', () => undefined);
  });
}

/** The power model with the device's quantisation and noise → register values in map units. */
function gudeValues(powerW: number, busyFraction: number, energyWh: number, noiseV: number): DecodedValues {
  const voltage = Math.round(230 + (Math.random() * 2 - 1) * noiseV);
  const pf = Math.round(Math.min(0.55, Math.max(0.5, 0.5 + 0.05 * busyFraction + (Math.random() - 0.5) * 0.004)) * 1000) / 1000;
  const currentMa = Math.round((powerW / (voltage * pf)) * 1000);
  return {
    energy_wh: Math.floor(energyWh),
    power_w: Math.round(powerW),
    voltage_v: voltage,
    current_a: currentMa / 1000,
    frequency_hz: Math.round((50 + (Math.random() - 0.5) * 0.04) * 100) / 100,
    pf,
  };
}

/** Starts a simulated Gude EPC 1105 on Modbus TCP; resolves once it listens. */
export async function startSimulatedPdu(options: SimulatedPduOptions = {}): Promise<SimulatedPdu> {
  const host = options.host ?? '127.0.0.1';
  const idleW = options.idleW ?? 2.5;
  const coreW = options.coreW ?? 1.5;
  if (!(idleW >= 0) || !(coreW >= 0)) throw new UsageError(`simulated PDU: --idle-w ${idleW} and --core-w ${coreW} must be non-negative numbers`);
  const map: RegisterMap = parseRegisterMap(gudeEpc1105, '"gude-epc1105"');
  const load = new CpuLoad();
  await load.busyCores();
  let energyWh = options.initialEnergyWh ?? 0;
  let lastMs = performance.now();
  let reads = 0;

  const currentPower = (): number => options.powerW?.() ?? modelPower({ idleW, coreW }, load.current);
  // Integrate P dt on every read and on a 100 ms tick, so the energy register advances while idle too.
  const integrate = (): number => {
    const now = performance.now();
    const power = currentPower();
    energyWh += (power * (now - lastMs)) / 3.6e6;
    lastMs = now;
    return power;
  };
  const tick = setInterval(() => {
    integrate();
    void load.busyCores().catch(() => undefined);
  }, 100);
  tick.unref();

  const refreshMs = options.refreshMs ?? 0;
  let held: { atMs: number; words: number[] } | null = null;
  const block = (): number[] => {
    reads++;
    const power = integrate();
    const now = performance.now();
    if (held && refreshMs > 0 && now - held.atMs < refreshMs) return held.words;
    const values = options.values?.() ?? gudeValues(power, load.current / load.cores, energyWh, options.voltageNoiseV ?? 1);
    // Refreshes fall on the device's own grid, not on the reads that happen to see them.
    held = { atMs: refreshMs > 0 ? now - (now % refreshMs) : now, words: encodeBlock(map, values) };
    return held.words;
  };
  const vector = {
    getMultipleInputRegisters(addr: number, length: number): number[] {
      if (addr < map.start || addr + length > map.start + map.length) throw ILLEGAL_DATA_ADDRESS;
      return block().slice(addr - map.start, addr - map.start + length);
    },
    getInputRegister(addr: number): number {
      if (addr < map.start || addr >= map.start + map.length) throw ILLEGAL_DATA_ADDRESS;
      return block()[addr - map.start]!;
    },
  };

  let server: ServerTCP | undefined;
  let port = options.port ?? 0;
  for (let attempt = 0; !server; attempt++) {
    const chosen = port === 0 ? await freePort(host) : port;
    try {
      server = await listen(vector, host, chosen, options.unitId);
      port = chosen;
    } catch (error) {
      // Another process may grab the probed port between probe and listen: try another one.
      const inUse = typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EADDRINUSE';
      if (!(options.port === 0 || options.port === undefined) || !inUse || attempt >= 4) {
        clearInterval(tick);
        throw error;
      }
    }
  }
  const running = server;
  let closing: Promise<void> | undefined;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    spec: `modbus://${hostInUrl}:${port}`,
    get reads() {
      return reads;
    },
    async close() {
      clearInterval(tick);
      closing ??= new Promise<void>((resolve) => running.close(() => resolve()));
      await closing;
    },
  };
}
