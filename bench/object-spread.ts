/**
 * Micro-benchmark (not a test) behind the line-building code of the console and the workers: on Node
 * 20 an object literal that spreads an object and then adds properties is a slow path, while
 * Object.assign — and a spread placed after the literal's own properties — are not
 * (docs/performance.md, "Load generator and saturation").
 * Run: node --import tsx bench/object-spread.ts [--n 200000]
 */
import { numberArg } from './args.js';

const N = numberArg('n', 200_000);
// The shape of an InvocationResult as it comes off the wire.
const result = JSON.parse(
  '{"function":"constant","runtime":"wasm","input":"1","output":"1","ok":true,"exit_code":0,"start_source":"host","metrics":{"received_us":1,"ready_us":1,"started_us":1,"ended_us":2,"startup_us":0,"exec_us":1,"total_us":1}}',
) as Record<string, unknown>;

function time(name: string, build: (i: number) => { seq: number }): void {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) sink += build(i).seq;
  const us = ((performance.now() - t0) * 1000) / N;
  console.log(`| ${name} | ${us.toFixed(2)} µs |${sink < 0 ? ' ' : ''}`);
}

console.log(`object building — node ${process.version}, ${N} objects each\n\n| how | per object |\n| --- | --- |`);
for (let round = 0; round < 2; round++) {
  time('`{ ...result, seq }`', (i) => ({ ...result, seq: i }));
  time('`{ ...result, 8 properties }`', (i) => ({ ...result, run_id: 'r', seq: i, rep: i, warmup: false, client: { sent_us: i, replied_us: i }, clock: null, stage: 0, intended_us: i }));
  time('`Object.assign({}, result, { 8 properties })`', (i) =>
    Object.assign({}, result, { run_id: 'r', seq: i, rep: i, warmup: false, client: { sent_us: i, replied_us: i }, clock: null, stage: 0, intended_us: i }),
  );
  time('`{ 8 properties, ...result }`', (i) => ({ run_id: 'r', seq: i, rep: i, warmup: false, client: { sent_us: i, replied_us: i }, clock: null, stage: 0, intended_us: i, ...result }));
}
