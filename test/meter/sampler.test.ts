import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterError } from '../../src/errors.js';
import { openMeter } from '../../src/meter/open-meter.js';
import { ModbusMeter } from '../../src/meter/modbus-meter.js';
import { Sampler, type ReconnectInfo } from '../../src/meter/sampler.js';
import { parseMeterSpec, type ModbusSpec } from '../../src/meter/spec.js';
import { startSimulatedPdu } from '../../src/meter/simulated-pdu.js';
import type { Gap, Sample } from '../../src/protocol/results.js';
import { silentServer } from './helpers.js';

/**
 * Resolves when `predicate` holds, checking on every `event` of the sampler. (Not events.once: that
 * rejects on an 'error' event, which these tests provoke on purpose.)
 */
async function until(sampler: Sampler, event: 'sample' | 'gap' | 'reconnect', predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise<void>((resolve) => sampler.once(event, () => resolve()));
}

test('the sampler reads the simulated PDU back to back: ordered, stamped samples and a rate', async () => {
  const pdu = await startSimulatedPdu({ port: 0 });
  const meter = await openMeter(pdu.spec);
  const sampler = new Sampler(meter);
  const samples: Sample[] = [];
  sampler.on('sample', (s) => samples.push(s));
  sampler.start();
  await until(sampler, 'sample', () => samples.length >= 50);
  await sampler.stop();
  const stats = sampler.stats();
  assert.equal(stats.samples, samples.length);
  assert.equal(stats.gaps, 0);
  assert.equal(stats.running, false);
  assert.ok(stats.rate_hz > 0);
  assert.deepEqual(stats.last, samples.at(-1));
  for (let i = 0; i < samples.length; i++) {
    assert.ok(samples[i]!.t_start_us <= samples[i]!.t_end_us);
    if (i > 0) assert.ok(samples[i]!.t_start_us >= samples[i - 1]!.t_end_us, 'reads overlap');
  }
  const count = samples.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(samples.length, count, 'a sample arrived after stop()');
  await meter.close();
  await pdu.close();
});

test('with intervalMs the reads follow a grid of that interval and never run ahead of it', async (t) => {
  const pdu = await startSimulatedPdu({ port: 0 });
  t.after(() => pdu.close());
  const meter = await openMeter(pdu.spec);
  t.after(() => meter.close());
  const sampler = new Sampler(meter, { intervalMs: 20 });
  const samples: Sample[] = [];
  sampler.on('sample', (s) => samples.push(s));
  sampler.start();
  await until(sampler, 'sample', () => samples.length >= 6);
  await sampler.stop();
  // The schedule is a grid (start + k·interval) that restarts when it falls behind, so a late read
  // may be followed by a closer one, but the k-th read never starts before k intervals have passed.
  const first = samples[0]!.t_start_us;
  for (let k = 1; k < samples.length; k++) {
    const span = samples[k]!.t_start_us - first;
    assert.ok(span >= k * 20_000 - 1_000, `read ${k} started ${span} µs after the first, before ${k} intervals`);
  }
});

test('a PDU that dies mid-run and comes back: retries with back-off, one gap, then samples resume', async () => {
  let pdu = await startSimulatedPdu({ port: 0 });
  const port = pdu.port;
  const meter = await openMeter(`${pdu.spec}?timeout_ms=300`);
  const sampler = new Sampler(meter, { backoffMs: 20, maxBackoffMs: 80 });
  const samples: Sample[] = [];
  const gaps: Gap[] = [];
  const reconnects: ReconnectInfo[] = [];
  const errors: MeterError[] = [];
  sampler.on('sample', (s) => samples.push(s));
  sampler.on('gap', (g) => gaps.push(g));
  sampler.on('reconnect', (r) => reconnects.push(r));
  sampler.on('error', (e) => errors.push(e));
  sampler.start();
  try {
    await until(sampler, 'sample', () => samples.length >= 10);
    await pdu.close();
    const before = samples.length;
    await until(sampler, 'reconnect', () => reconnects.length >= 3);
    pdu = await startSimulatedPdu({ port });
    await until(sampler, 'gap', () => gaps.length >= 1);
    await until(sampler, 'sample', () => samples.length >= before + 10);
    await sampler.stop();

    assert.equal(gaps.length, 1);
    const gap = gaps[0]!;
    assert.equal(gap.gap, true);
    assert.ok(gap.from_us < gap.to_us);
    assert.ok(gap.reason.length > 0);
    assert.equal(errors.length, 1, 'one error per outage, not one per retry');
    assert.ok(errors[0] instanceof MeterError);
    // Back-off doubles and is capped.
    assert.deepEqual(reconnects.slice(0, 4).map((r) => r.delay_ms), [20, 40, 80, 80].slice(0, Math.min(4, reconnects.length)));
    // Nothing invented: no sample inside the gap; it starts at the last good read's end and ends at the next read's start.
    assert.ok(samples.every((s) => s.t_end_us <= gap.from_us || s.t_start_us >= gap.to_us));
    assert.ok(samples.some((s) => s.t_end_us === gap.from_us));
    assert.ok(samples.some((s) => s.t_start_us === gap.to_us));
    assert.equal(sampler.stats().gaps, 1);
  } finally {
    await sampler.stop();
    await meter.close();
    await pdu.close();
  }
});

test('a meter that never answers yields errors and reconnects, no samples, and a gap when stopped', async () => {
  const server = await silentServer();
  // Probe disabled: open() would time out; the sampler must cope with a meter that is silent from the start.
  const meter = await ModbusMeter.open(`modbus://127.0.0.1:${server.port}`, { ...(parseMeterSpec(`modbus://127.0.0.1:${server.port}`) as ModbusSpec), timeoutMs: 100 }, { probe: false });
  const sampler = new Sampler(meter, { backoffMs: 10, maxBackoffMs: 20 });
  const errors: MeterError[] = [];
  const gaps: Gap[] = [];
  let samples = 0;
  let reconnects = 0;
  sampler.on('error', (e) => errors.push(e));
  sampler.on('gap', (g) => gaps.push(g));
  sampler.on('sample', () => samples++);
  sampler.on('reconnect', () => reconnects++);
  sampler.start();
  await until(sampler, 'reconnect', () => reconnects >= 2);
  await sampler.stop();
  assert.equal(samples, 0);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'meter-timeout');
  assert.equal(gaps.length, 1);
  assert.ok(gaps[0]!.to_us > gaps[0]!.from_us);
  assert.match(gaps[0]!.reason, /did not answer/);
  await meter.close();
  await server.close();
});

test('an unobserved error event does not crash the process', async () => {
  const server = await silentServer();
  const meter = await ModbusMeter.open('x', { ...(parseMeterSpec(`modbus://127.0.0.1:${server.port}`) as ModbusSpec), timeoutMs: 50 }, { probe: false });
  const sampler = new Sampler(meter, { backoffMs: 5, maxBackoffMs: 5 });
  let reconnects = 0;
  sampler.on('reconnect', () => reconnects++);
  sampler.start();
  await until(sampler, 'reconnect', () => reconnects >= 1);
  await sampler.stop();
  assert.equal(sampler.stats().errors >= 1, true);
  await meter.close();
  await server.close();
});

test('sampling at full speed leaves the event loop free: HTTP requests on the same loop are served', async () => {
  const pdu = await startSimulatedPdu({ port: 0 });
  const meter = await openMeter(pdu.spec);
  const sampler = new Sampler(meter);
  const server = http.createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  sampler.start();
  try {
    const before = sampler.stats().samples;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await res.text(), 'ok');
    }
    assert.ok(sampler.stats().samples > before, 'sampler made no progress while serving HTTP');
  } finally {
    await sampler.stop();
    server.close();
    await meter.close();
    await pdu.close();
  }
});
