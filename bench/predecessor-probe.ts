/**
 * Where a wasm call's extra start-up after another runtime goes (docs/methodology.md, "Predecessors"):
 * against one separately started `nebula serve`, pairs of (predecessor call, settled wait, wasm call)
 * with fibonacci-recursive 11, predecessors in rotation. Per predecessor it prints the wasm call's
 * start-up p50 split into received → ready (body, admission, the worker, a fresh instance) and
 * ready → started (the guest's first act), and the server's minor page faults during the wasm call
 * (/proc/<pid>/stat): copy-on-write faults after a fork show there. Beside them, the predecessor's own
 * start-up and teardown (the cost of starting a native call through the spawner process shows there).
 * Run: node --import tsx bench/predecessor-probe.ts [--pairs 40] [--gap-ms 0] [-- serve flags…]
 */
import { readFileSync } from 'node:fs';
import type { Runtime } from '../src/protocol/api.js';
import { median } from '../src/report/stats.js';
import { numberArg } from './args.js';
import { startServeProcess } from './serve-process.js';

const PAIRS = numberArg('pairs', 40);
const GAP_MS = numberArg('gap-ms', 0);
const serveArgs = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const FN = 'fibonacci-recursive';

const serve = await startServeProcess([FN], serveArgs);
const pid = serve.child.pid!;
/** Minor faults of the whole server process (all threads): field 10 of /proc/<pid>/stat. */
const minorFaults = (): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);

const health = await serve.client.health();
const predecessors: Runtime[] = ['wasm', 'native', ...(health.runtimes.docker ? (['docker'] as const) : [])];
const rows = new Map<Runtime, { startup: number[]; toReady: number[]; toStart: number[]; faults: number[]; own: number[]; teardown: number[] }>(
  predecessors.map((p) => [p, { startup: [], toReady: [], toStart: [], faults: [], own: [], teardown: [] }]),
);
try {
  for (const p of predecessors) await serve.client.invoke(FN, '11', p); // warm-up
  for (let i = 0; i < PAIRS; i++) {
    for (const p of predecessors) {
      const before = await serve.client.invoke(FN, '11', p);
      await serve.client.settled(10_000);
      if (GAP_MS) await new Promise((r) => setTimeout(r, GAP_MS));
      const faultsBefore = minorFaults();
      const r = await serve.client.invoke(FN, '11', 'wasm');
      const faults = minorFaults() - faultsBefore;
      const m = r.metrics;
      const row = rows.get(p)!;
      row.startup.push(m.startup_us);
      row.toReady.push(m.ready_us - m.received_us);
      row.toStart.push(m.started_us - m.ready_us);
      row.faults.push(faults);
      row.own.push(before.metrics.startup_us);
      if (before.metrics.teardown_us !== undefined) row.teardown.push(before.metrics.teardown_us);
    }
  }
} finally {
  await serve.stop();
}

const us = (xs: number[]): string => `${Math.round(median(xs))} µs`;
console.log(`${FN} 11 on wasm after each predecessor (settled${GAP_MS ? `, then ${GAP_MS} ms` : ''}), ${PAIRS} pairs each, one server${serveArgs.length ? ` (${serveArgs.join(' ')})` : ''}`);
console.log('| predecessor | wasm startup p50 | received → ready | ready → started | server minor faults p50 | own startup p50 of the predecessor | its teardown p50 |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [p, r] of rows) {
  console.log(`| ${p} | ${us(r.startup)} | ${us(r.toReady)} | ${us(r.toStart)} | ${median(r.faults)} | ${us(r.own)} | ${r.teardown.length ? us(r.teardown) : '—'} |`);
}
