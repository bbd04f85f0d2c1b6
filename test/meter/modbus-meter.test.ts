import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, MeterError, UsageError } from '../../src/errors.js';
import { openMeter } from '../../src/meter/open-meter.js';
import { ModbusMeter } from '../../src/meter/modbus-meter.js';
import { parseMeterSpec, type ModbusSpec } from '../../src/meter/spec.js';
import { startSimulatedPdu } from '../../src/meter/simulated-pdu.js';
import { freePort, rawRegisterServer, silentServer, words32 } from './helpers.js';

const gudeWords = (v: { energy: number; power: number; volts: number; mA: number; centiHz: number; milliPf: number }): number[] =>
  [v.energy, v.power, v.volts, v.mA, v.centiHz, v.milliPf].flatMap(words32);

function meterError(code: string, message: RegExp, hint: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof MeterError, `not a MeterError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.exitCode, ExitCode.Unreachable);
    assert.match(e.message, message);
    assert.match(e.hint ?? '', hint);
    return true;
  };
}

test('a read of known registers over Modbus TCP decodes to V × I × PF plus the device registers', async () => {
  const server = await rawRegisterServer(0x400, gudeWords({ energy: 3_000_000_000 - 2 ** 32, power: 5, volts: 231, mA: 43, centiHz: 4998, milliPf: 520 }));
  const meter = await openMeter(`modbus://127.0.0.1:${server.port}`);
  try {
    const s = await meter.read();
    assert.equal(meter.kind, 'modbus');
    assert.ok(s.t_start_us <= s.t_end_us);
    assert.deepEqual({ ...s, t_start_us: 0, t_end_us: 0 }, {
      t_start_us: 0, t_end_us: 0,
      power_w: 231 * 0.043 * 0.52,
      voltage_v: 231, current_a: 0.043, pf: 0.52,
      // 3e9 in a signed register reads back negative: the Gude's values are signed 32-bit.
      energy_wh: 3_000_000_000 - 2 ** 32,
      device_power_w: 5,
      // Half a step of 1 V, 1 mA and 0.001 PF carried through V × I × PF.
      resolution_w: 0.5 * (1 * 0.043 * 0.52 + 231 * 0.001 * 0.52 + 231 * 0.043 * 0.001),
    });
    assert.equal((meter as ModbusMeter).lastValues?.frequency_hz, 49.98);
    assert.match(meter.describe(), new RegExp(`127\\.0\\.0\\.1:${server.port} \\(unit 1, map gude-epc1105, measured voltage\\)`));
  } finally {
    await meter.close();
    await server.close();
  }
});

test('voltage=240 uses the thesis constant instead of the voltage register', async () => {
  const server = await rawRegisterServer(0x400, gudeWords({ energy: 1, power: 5, volts: 231, mA: 40, centiHz: 5000, milliPf: 500 }));
  const meter = await openMeter(`modbus://127.0.0.1:${server.port}?voltage=240`);
  try {
    const s = await meter.read();
    assert.equal(s.power_w, 240 * 0.04 * 0.5);
    assert.equal(s.voltage_v, 240);
  } finally {
    await meter.close();
    await server.close();
  }
});

test('the simulated PDU serves realistic Gude values whose energy register integrates the power', async () => {
  const pdu = await startSimulatedPdu({ port: 0, powerW: () => 3_600_000, initialEnergyWh: 10 });
  const real = await startSimulatedPdu({ port: 0 });
  const meter = await openMeter(pdu.spec);
  const realistic = await openMeter(real.spec);
  try {
    const first = await meter.read();
    await new Promise((r) => setTimeout(r, 20));
    const second = await meter.read();
    // 3.6 MW is 1 Wh per ms: the register must have advanced between two reads 20 ms apart.
    assert.ok(second.energy_wh! > first.energy_wh!, `${first.energy_wh} → ${second.energy_wh}`);
    assert.ok(first.energy_wh! >= 10);
    for (let i = 0; i < 20; i++) {
      const s = await realistic.read();
      assert.ok(s.voltage_v! >= 229 && s.voltage_v! <= 231, `voltage ${s.voltage_v}`);
      assert.ok(s.pf! >= 0.5 && s.pf! <= 0.55, `pf ${s.pf}`);
      assert.ok(s.power_w >= 2.3 && s.power_w <= 2.5 + 1.5 * os.availableParallelism() + 0.2, `power ${s.power_w}`);
      // Current is quantised to 1 mA, so V·I·PF and the whole-watt register agree to within ~1 W.
      assert.ok(Math.abs(s.power_w - s.device_power_w!) <= 1, `${s.power_w} vs ${s.device_power_w}`);
    }
    assert.ok(real.reads >= 20);
  } finally {
    await meter.close();
    await realistic.close();
    await pdu.close();
    await real.close();
  }
});

test('a port with nothing listening is "connection refused" with a hint naming the port', async () => {
  const port = await freePort();
  await assert.rejects(openMeter(`modbus://127.0.0.1:${port}`), meterError('meter-unreachable', new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`), new RegExp(`nothing listens on port ${port}.*nebula meter simulate`)));
});

test('a server that accepts but never answers times out, and the hint names the unit id', async () => {
  const server = await silentServer();
  try {
    await assert.rejects(
      openMeter(`modbus://127.0.0.1:${server.port}?timeout_ms=200&unit=4`),
      meterError('meter-timeout', /did not answer a read of input registers 0x0400–0x040b within 200 ms \(unit id 4\)/, /another unit id drops requests silently — check \?unit=/),
    );
  } finally {
    await server.close();
  }
});

test('a PDU bound to another unit id drops the request: a timeout that says so', async () => {
  const pdu = await startSimulatedPdu({ port: 0, unitId: 7 });
  try {
    await assert.rejects(openMeter(`${pdu.spec}?unit=1&timeout_ms=200`), meterError('meter-timeout', /\(unit id 1\)/, /check \?unit=/));
    const right = await openMeter(`${pdu.spec}?unit=7`);
    assert.ok((await right.read()).power_w > 0);
    await right.close();
  } finally {
    await pdu.close();
  }
});

test('a map pointing at registers the device lacks fails with "illegal data address — wrong map?"', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-map-'));
  const pdu = await startSimulatedPdu({ port: 0 });
  try {
    const file = path.join(dir, 'other.json');
    await writeFile(file, JSON.stringify({ name: 'other-pdu', function: 4, start: 0x500, length: 2, fields: { power_w: { address: 0x500 } } }));
    await assert.rejects(openMeter(`${pdu.spec}?map=${encodeURIComponent(file)}`),
      meterError('meter-register', /rejected the read of input registers 0x0500–0x0501: illegal data address/, /register map "other-pdu" does not fit this device — wrong map\?/));
  } finally {
    await pdu.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('nonsense values (PF > 1, negative power) are refused as implausible, pointing at the map', async () => {
  for (const [values, what] of [
    [{ energy: 1, power: 5, volts: 230, mA: 40, centiHz: 5000, milliPf: 1500 }, /power factor 1\.5 outside \[0, 1\]/],
    [{ energy: 1, power: -5, volts: 230, mA: 40, centiHz: 5000, milliPf: 500 }, /negative device power -5 W/],
    [{ energy: 1, power: 5, volts: 230, mA: -40, centiHz: 5000, milliPf: 500 }, /negative current -0\.04 A/],
  ] as const) {
    const server = await rawRegisterServer(0x400, gudeWords(values));
    try {
      await assert.rejects(openMeter(`modbus://127.0.0.1:${server.port}`), meterError('meter-implausible', what, /register map "gude-epc1105" does not fit/));
    } finally {
      await server.close();
    }
  }
});

test('rapl is "not available" with a hint where the powercap files are missing; none refuses to read', async () => {
  await assert.rejects(openMeter('rapl?root=/nonexistent/powercap'), meterError('meter-unavailable', /RAPL is not available: \/nonexistent\/powercap is missing/, /VMs and the Raspberry Pi have none/));
  const none = await openMeter('none');
  assert.equal(none.kind, 'none');
  await assert.rejects(none.read(), (e: unknown) => e instanceof MeterError && e.code === 'meter-none');
});

test('a map without voltage_v or power_w under voltage=measured is a usage error before any connection', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-map-'));
  try {
    const file = path.join(dir, 'no-volts.json');
    await writeFile(file, JSON.stringify({ name: 'no-volts', function: 4, start: 0, length: 4, fields: { current_a: { address: 0, scale: 0.001 }, pf: { address: 2, scale: 0.001 } } }));
    // Port 1 has nothing listening: reaching the connect would be "connection refused", not this.
    await assert.rejects(openMeter(`modbus://127.0.0.1:1?map=${encodeURIComponent(file)}`), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.exitCode, ExitCode.Usage);
      assert.match(e.message, /register map "no-volts" has no voltage_v register .* and no power_w/);
      assert.match(e.hint ?? '', /voltage=230/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('close() during a pending connect rejects the read and leaves no socket open', { timeout: 20_000 }, async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const spec = `modbus://127.0.0.1:${port}`;
    const meter = await ModbusMeter.open(spec, parseMeterSpec(spec) as ModbusSpec, { probe: false });
    const reading = meter.read();
    await meter.close();
    await assert.rejects(reading, (e: unknown) => e instanceof MeterError && e.code === 'meter-closed');
    // The server saw the connection; the meter's side must be gone (else this waits until the timeout).
    while (sockets.length === 0) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))));
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
