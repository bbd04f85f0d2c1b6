/**
 * Does what ran before an invocation change its cold start (docs/methodology.md)? Against one
 * separately started `nebula serve`, in one sitting, the console's driver runs the quick suite's
 * functions and inputs (no meter) four ways: wasm only and interleaved wasm/docker/native, each with
 * `settle: 0` and `settle: auto`. It prints wasm `startup_us` p50 of each, and the ratio interleaved /
 * wasm-only (goal: ≤ 1.25 with settling), plus wasm start-up by predecessor.
 * Single rounds vary ±30 % between identical runs on a shared VM, so three rounds, interleaved, by default.
 * Run: node --import tsx bench/settle-bench.ts [--reps 5] [--rounds 3]
 */
import { Driver } from '../src/console/driver.js';
import { parseSuite } from '../src/console/suite.js';
import { nowUs } from '../src/clock.js';
import type { InvocationLine } from '../src/protocol/results.js';
import { median } from '../src/report/stats.js';
import { numberArg } from './args.js';
import { startServeProcess } from './serve-process.js';

const REPS = numberArg('reps', 5);
const ROUNDS = numberArg('rounds', 3);
const FUNCTIONS = `functions:
  - { name: fibonacci-recursive, inputs: [10, 20, 27] }
  - { name: exponential,         inputs: [10, 200, 706] }
  - { name: factorial,           inputs: [5, 20, 130] }
  - { name: prime-number,        inputs: [10, 1000, 3000] }
`;

const serve = await startServeProcess(['fibonacci-recursive', 'exponential', 'factorial', 'prime-number']);
const health = await serve.client.health();
const mixed = ['wasm', ...(health.runtimes.docker ? ['docker'] : []), 'native'];

async function run(runtimes: string[], settle: string): Promise<InvocationLine[]> {
  const suite = parseSuite(`name: bench\nruntimes: [${runtimes.join(', ')}]\nrepetitions: ${REPS}\nwarmup: 1\norder: interleaved\nsettle: ${settle}\n${FUNCTIONS}`, null);
  const driver = new Driver({ suite, client: serve.client, runId: 'settle-bench', health, nowUs, meter: null });
  const lines: InvocationLine[] = [];
  driver.on('invocation', (l) => lines.push(l));
  const done = await driver.run();
  if (done.status !== 'completed') throw new Error(`run ${runtimes.join('/')} settle ${settle}: ${done.status} ${done.error ?? ''}`);
  return lines;
}

const wasmStartups = (lines: InvocationLine[]): number[] => lines.filter((l) => !l.warmup && l.ok && l.runtime === 'wasm' && l.metrics).map((l) => l.metrics!.startup_us);
const fmt = (us: number): string => `${Math.round(us)} µs`;

const cases: Array<{ label: string; runtimes: string[]; settle: string }> = [
  { label: 'wasm only, settle 0', runtimes: ['wasm'], settle: '0' },
  { label: `${mixed.join('/')}, settle 0`, runtimes: mixed, settle: '0' },
  { label: 'wasm only, settle auto', runtimes: ['wasm'], settle: 'auto' },
  { label: `${mixed.join('/')}, settle auto`, runtimes: mixed, settle: 'auto' },
];
const collected = new Map<string, InvocationLine[]>(cases.map((c) => [c.label, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) collected.get(c.label)!.push(...(await run(c.runtimes, c.settle)));
  }
} finally {
  await serve.stop();
}

console.log(`quick-suite inputs, ${REPS} repetitions, ${ROUNDS} round(s), one server; node ${process.version}, ${process.arch}`);
console.log('| run | wasm n | wasm startup p50 | ratio to wasm only (same settle) | settle wait p50 |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [i, c] of cases.entries()) {
  const lines = collected.get(c.label)!;
  const xs = wasmStartups(lines);
  const alone = median(wasmStartups(collected.get(cases[i - (i % 2)]!.label)!));
  const waits = lines.filter((l) => l.settle).map((l) => l.settle!.waited_us);
  console.log(`| ${c.label} | ${xs.length} | ${fmt(median(xs))} | ${(median(xs) / alone).toFixed(2)}× | ${waits.length ? fmt(median(waits)) : '—'} |`);
}
console.log('\nwasm startup p50 by predecessor (interleaved runs):');
console.log('| settle | after wasm | after docker | after native |');
console.log('| --- | ---: | ---: | ---: |');
for (const c of cases.filter((x) => x.runtimes.length > 1)) {
  const lines = collected.get(c.label)!.filter((l) => !l.warmup && l.ok && l.runtime === 'wasm' && l.metrics);
  const by = (p: string): string => {
    const xs = lines.filter((l) => l.predecessor === p).map((l) => l.metrics!.startup_us);
    return xs.length ? `${fmt(median(xs))} (n=${xs.length})` : '—';
  };
  console.log(`| ${c.settle} | ${by('wasm')} | ${by('docker')} | ${by('native')} |`);
}
