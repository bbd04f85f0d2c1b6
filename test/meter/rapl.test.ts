import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MeterError } from '../../src/errors.js';
import { openMeter } from '../../src/meter/open-meter.js';
import { counterDelta } from '../../src/meter/rapl-meter.js';

// No RAPL here (VM): a powercap tree in a temp dir stands in for /sys/class/powercap.
async function zone(root: string, name: string, label: string, uj: number, max: number): Promise<void> {
  await mkdir(path.join(root, name), { recursive: true });
  await writeFile(path.join(root, name, 'name'), `${label}\n`);
  await writeFile(path.join(root, name, 'energy_uj'), `${uj}\n`);
  await writeFile(path.join(root, name, 'max_energy_range_uj'), `${max}\n`);
}

test('counterDelta handles the wrap-around at max_energy_range_uj', () => {
  assert.equal(counterDelta(100, 350, 1000), 250);
  assert.equal(counterDelta(900, 50, 1000), 150);
});

test('rapl sums package counters across a wrap and divides by the time between reads', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nebula-rapl-'));
  try {
    await zone(root, 'intel-rapl:0', 'package-0', 999_000_000, 1_000_000_000);
    await zone(root, 'intel-rapl:1', 'package-1', 5_000, 1_000_000_000);
    await zone(root, 'intel-rapl:0:0', 'core', 1, 1_000_000_000); // a sub-zone: part of package-0, not added
    const meter = await openMeter(`rapl?root=${encodeURIComponent(root)}`);
    assert.equal(meter.describe(), 'RAPL energy counters (package-0 + package-1)');
    await writeFile(path.join(root, 'intel-rapl:0', 'energy_uj'), '1000000\n'); // wrapped: +2 000 000 µJ
    await writeFile(path.join(root, 'intel-rapl:1', 'energy_uj'), '505000\n'); // +500 000 µJ
    await writeFile(path.join(root, 'intel-rapl:0:0', 'energy_uj'), '999999999\n');
    const s = await meter.read();
    assert.ok(s.t_end_us > s.t_start_us);
    assert.ok(Math.abs(s.power_w * (s.t_end_us - s.t_start_us) - 2_500_000) < 1e-6, `E = ${s.power_w * (s.t_end_us - s.t_start_us)} µJ`);
    // Read again at once: it waits for the counters' ~1 ms update period instead of reporting 0 W.
    const again = await meter.read();
    assert.equal(again.t_start_us, s.t_end_us);
    assert.ok(again.t_end_us - again.t_start_us >= 1000, `${again.t_end_us - again.t_start_us} µs since the previous read`);
    await meter.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('rapl without intel-rapl zones (or unreadable counters) is not available', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nebula-rapl-'));
  try {
    await assert.rejects(openMeter(`rapl?root=${encodeURIComponent(root)}`), (e: unknown) => e instanceof MeterError && e.code === 'meter-unavailable' && /no intel-rapl:N zone/.test(e.message));
    await mkdir(path.join(root, 'intel-rapl:0'));
    await assert.rejects(openMeter(`rapl?root=${encodeURIComponent(root)}`), (e: unknown) => e instanceof MeterError && /cannot read .*intel-rapl:0\/energy_uj/.test(e.message) && /root only/.test(e.hint ?? ''));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
