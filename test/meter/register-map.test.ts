import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors.js';
import { decodeBlock, encodeBlock, loadRegisterMap, parseRegisterMap } from '../../src/meter/register-map.js';
import { parseMeterSpec } from '../../src/meter/spec.js';

test('the Gude map decodes high-word-first signed 32-bit values with their scales', async () => {
  const map = await loadRegisterMap('gude-epc1105');
  const words = [0x0001, 0x86a0, 0, 5, 0, 230, 0, 22, 0, 5001, 0, 498];
  assert.deepEqual(decodeBlock(map, words), { energy_wh: 100_000, power_w: 5, voltage_v: 230, current_a: 0.022, frequency_hz: 50.01, pf: 0.498 });
});

test('signed words ≥ 2^31 decode negative; an unsigned field keeps them ≥ 2^31', () => {
  const base = { name: 't', function: 4, start: 0, length: 4, fields: { power_w: { address: 0, signed: true }, energy_wh: { address: 2, signed: false } } };
  const map = parseRegisterMap(base, 'test');
  assert.deepEqual(decodeBlock(map, [0xffff, 0xfffe, 0x8000, 0x0001]), { power_w: -2, energy_wh: 2_147_483_649 });
  assert.deepEqual(decodeBlock(map, [0x8000, 0x0000, 0xffff, 0xffff]), { power_w: -2_147_483_648, energy_wh: 4_294_967_295 });
  const low = parseRegisterMap({ ...base, word_order: 'low-first' }, 'test');
  assert.deepEqual(decodeBlock(low, [0x0002, 0x0001, 0, 0]), { power_w: 65_538, energy_wh: 0 });
});

test('encodeBlock is the inverse of decodeBlock', async () => {
  const map = await loadRegisterMap();
  const values = { energy_wh: -7, power_w: 4, voltage_v: 231, current_a: 0.035, frequency_hz: 49.98, pf: 0.523 };
  assert.deepEqual(decodeBlock(map, encodeBlock(map, values)), values);
});

test('a map is validated: fields outside the block and maps without a power source are refused', () => {
  assert.throws(() => parseRegisterMap({ name: 'x', function: 4, start: 0, length: 2, fields: { power_w: { address: 2 } } }, 'x.json'),
    (e: unknown) => e instanceof UsageError && /x\.json: fields\.power_w\.address: register 2 lies outside the block \[0, 2\)/.test(e.message));
  assert.throws(() => parseRegisterMap({ name: 'x', function: 4, start: 0, length: 2, fields: { voltage_v: { address: 0 } } }, 'x.json'),
    /needs current_a and pf/);
  assert.throws(() => parseRegisterMap({ name: 'x', function: 5, start: 0, length: 2, fields: {} }, 'x.json'), /x\.json: function/);
});

test('map= takes a JSON file path; unknown names and unreadable files are usage errors', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-map-'));
  try {
    const file = path.join(dir, 'pdu.json');
    await writeFile(file, JSON.stringify({ name: 'my-pdu', function: 3, start: 100, length: 2, fields: { power_w: { address: 100, scale: 0.1 } } }));
    const map = await loadRegisterMap(file);
    assert.equal(map.name, 'my-pdu');
    assert.equal(map.fields.power_w?.scale, 0.1);
    await assert.rejects(loadRegisterMap('apc-9000'), (e: unknown) => e instanceof UsageError && /unknown register map "apc-9000"/.test(e.message) && /gude-epc1105/.test(e.hint ?? ''));
    await assert.rejects(loadRegisterMap(path.join(dir, 'missing.json')), /cannot read register map file/);
    await writeFile(file, '{ nope');
    await assert.rejects(loadRegisterMap(file), /is not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('meter specs parse with defaults and reject what they do not know, naming the spec', () => {
  assert.deepEqual(parseMeterSpec('modbus://192.168.68.70'), { kind: 'modbus', host: '192.168.68.70', port: 502, unit: 1, map: 'gude-epc1105', voltage: 'measured', timeoutMs: 1000 });
  assert.deepEqual(parseMeterSpec('modbus://pdu.local:5020?unit=3&map=./m.json&voltage=240&timeout_ms=250'), { kind: 'modbus', host: 'pdu.local', port: 5020, unit: 3, map: './m.json', voltage: 240, timeoutMs: 250 });
  assert.equal((parseMeterSpec('modbus://[::1]:502') as { host: string }).host, '::1');
  assert.deepEqual(parseMeterSpec('sim'), { kind: 'sim', idleW: 2.5, coreW: 1.5 });
  assert.deepEqual(parseMeterSpec('sim?idle_w=3&core_w=2'), { kind: 'sim', idleW: 3, coreW: 2 });
  assert.deepEqual(parseMeterSpec('rapl'), { kind: 'rapl', root: '/sys/class/powercap' });
  assert.deepEqual(parseMeterSpec('none'), { kind: 'none' });
  for (const [spec, why] of [
    ['gude://x', /unknown meter kind/],
    ['modbus://x?unit=300', /unit=300 is not an integer in \[0, 255\]/],
    ['modbus://x?voltage=high', /voltage=high/],
    ['modbus://x?foo=1', /unknown parameter "foo"/],
    ['modbus://x/path', /unexpected path/],
    ['', /empty/],
  ] as const) {
    assert.throws(() => parseMeterSpec(spec), (e: unknown) => e instanceof UsageError && e.message.startsWith(`bad meter spec "${spec}"`) && why.test(e.message), spec);
  }
});
