/**
 * Meter throughput on loopback: samples/s the Sampler achieves against the simulated PDU (modbus-serial
 * ServerTCP in this same process), the event-loop delay while it runs, and attribution cost on a long
 * series. Run: node --import tsx bench/meter-bench.ts [seconds]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { attributeIntegrated, attributeThesis } from '../src/meter/attribution.js';
import { openMeter } from '../src/meter/open-meter.js';
import { Sampler } from '../src/meter/sampler.js';
import { startSimulatedPdu } from '../src/meter/simulated-pdu.js';
import type { Sample } from '../src/protocol/results.js';

const seconds = Number(process.argv[2] ?? 3);

async function rate(spec: string, intervalMs?: number): Promise<{ hz: number; lagP99Ms: number; samples: number }> {
  const meter = await openMeter(spec);
  const sampler = new Sampler(meter, intervalMs === undefined ? {} : { intervalMs });
  const lag = monitorEventLoopDelay({ resolution: 1 });
  let n = 0;
  let first = 0;
  let last = 0;
  sampler.on('sample', (s) => {
    if (n === 0) first = s.t_end_us;
    last = s.t_end_us;
    n++;
  });
  lag.enable();
  sampler.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await sampler.stop();
  lag.disable();
  await meter.close();
  return { hz: ((n - 1) * 1e6) / (last - first), lagP99Ms: lag.percentile(99) / 1e6, samples: n };
}

const pdu = await startSimulatedPdu({ port: 0 });
const modbus = await rate(pdu.spec);
const paced = await rate(pdu.spec, 2);
await pdu.close();
const sim = await rate('sim');

console.log(`meter rates over ${seconds} s on loopback (one process: server and sampler share the loop)`);
console.log(`  modbus (simulated PDU), back to back: ${modbus.hz.toFixed(0)} samples/s (${modbus.samples} samples), event-loop delay p99 ${modbus.lagP99Ms.toFixed(2)} ms`);
console.log(`  modbus, --interval-ms 2:              ${paced.hz.toFixed(0)} samples/s, event-loop delay p99 ${paced.lagP99Ms.toFixed(2)} ms`);
console.log(`  sim (in-process):                    ${sim.hz.toFixed(0)} samples/s`);
console.log(`  ratio modbus / 500 samples/s goal:    ${(modbus.hz / 500).toFixed(2)}`);

// Attribution: 1 000 000 samples (≈ 30 min at 550/s), 10 000 windows of 5 ms.
const series: Sample[] = [];
for (let i = 0; i < 1_000_000; i++) series.push({ t_start_us: i * 1800, t_end_us: i * 1800 + 900, power_w: 2.5 + (i % 7) * 0.1 });
for (const [name, fn] of [['integrated', attributeIntegrated], ['thesis', attributeThesis]] as const) {
  const t0 = performance.now();
  let sum = 0;
  for (let w = 0; w < 10_000; w++) {
    const start = 1000 + w * 170_000;
    sum += fn(series, { start_us: start, end_us: start + 5000 }, 2.5).energy_uwh ?? 0;
  }
  const ms = performance.now() - t0;
  console.log(`  attribution ${name.padEnd(10)}: ${((ms * 1000) / 10_000).toFixed(2)} µs per window on 1e6 samples (checksum ${sum.toFixed(3)})`);
}
