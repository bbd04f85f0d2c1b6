/**
 * What a fork of the server costs the next wasm call (docs/methodology.md, "Predecessors"): a server
 * in this process, fibonacci-recursive 11 on wasm after each of: nothing, a native call (started by
 * the spawner process), and a bare `spawn('/bin/true')` from the server's own process — what every
 * native call did before the spawner. Conditions in rotation, a short pause before each wasm call;
 * prints wasm startup_us p50 and the process's minor page faults during the call.
 * Run: node --import tsx bench/fork-cost.ts [--pairs 60]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../src/report/stats.js';
import { startTestServer } from '../test/helpers/server.js';
import { numberArg } from './args.js';
import { ROOT } from './serve-process.js';

const PAIRS = numberArg('pairs', 60);
const FN = 'fibonacci-recursive';
const t = await startTestServer();
const dir = join(ROOT, 'functions', FN);
await t.client.putArtifact(FN, 'wasm', readFileSync(join(dir, `${FN}.wasm`)));
await t.client.putArtifact(FN, 'native', readFileSync(join(dir, 'build', `${FN}-${process.arch}`)));

/** Minor faults of this whole process (server and its worker threads): field 10 of /proc/self/stat. */
const minorFaults = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
const forkServer = (): Promise<void> =>
  new Promise((resolve) => spawn('/bin/true', [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true }).once('close', () => resolve()));

const conditions: Record<string, () => Promise<unknown>> = {
  'nothing': async () => undefined,
  'a native call (spawner)': () => t.client.invoke(FN, '11', 'native'),
  'a fork of the server (spawn /bin/true)': forkServer,
};
const rows = new Map(Object.keys(conditions).map((c) => [c, { startup: [] as number[], faults: [] as number[] }]));
try {
  for (let i = 0; i < 5; i++) await t.client.invoke(FN, '11', 'wasm');
  for (let i = 0; i < PAIRS; i++) {
    for (const [name, before] of Object.entries(conditions)) {
      await before();
      await t.client.settled(10_000);
      await new Promise((r) => setTimeout(r, 5));
      const faults = minorFaults();
      const r = await t.client.invoke(FN, '11', 'wasm');
      rows.get(name)!.faults.push(minorFaults() - faults);
      rows.get(name)!.startup.push(r.metrics.startup_us);
    }
  }
} finally {
  await t.close();
}
const floor = median(rows.get('nothing')!.startup);
console.log(`${FN} 11 on wasm after each condition, ${PAIRS} rounds, one in-process server; node ${process.version}, ${process.arch}`);
console.log('| before the wasm call | wasm startup p50 | ÷ after nothing | minor faults p50 |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, r] of rows) {
  const p50 = median(r.startup);
  console.log(`| ${name} | ${Math.round(p50)} µs | ${(p50 / floor).toFixed(2)}× | ${median(r.faults)} |`);
}
