/**
 * What `exec_us` compares (docs/methodology.md, "Exec and teardown"): fibonacci-recursive on wasm,
 * native and docker, interleaved, against one separately started `nebula serve`. For the same
 * invocations it prints exec as the function's own run (finished − started, the guest's two stamps)
 * beside the former definition (ended − started, which included the runtime noticing the end), the
 * teardown, and the native/wasm and docker/wasm ratios of each.
 * Run: node --import tsx bench/exec-split.ts [--n 15] [--input 27]
 */
import { median } from '../src/report/stats.js';
import type { InvocationResult, Runtime } from '../src/protocol/api.js';
import { numberArg } from './args.js';
import { startServeProcess } from './serve-process.js';

const N = numberArg('n', 15);
const INPUT = String(numberArg('input', 27));
const FN = 'fibonacci-recursive';

const serve = await startServeProcess([FN]);
const health = await serve.client.health();
const runtimes: Runtime[] = ['wasm', 'native', ...(health.runtimes.docker ? (['docker'] as const) : [])];
const results = new Map<Runtime, InvocationResult[]>(runtimes.map((r) => [r, []]));
try {
  for (const r of runtimes) await serve.client.invoke(FN, INPUT, r); // warm-up, not kept
  for (let i = 0; i < N; i++) {
    for (const r of runtimes) {
      const result = await serve.client.invoke(FN, INPUT, r);
      if (!result.ok || result.end_source !== 'function') throw new Error(`${r}: ${JSON.stringify(result)}`);
      results.get(r)!.push(result);
    }
  }
} finally {
  await serve.stop();
}

const p50 = (r: Runtime, pick: (m: InvocationResult['metrics']) => number): number => median(results.get(r)!.map((x) => pick(x.metrics)));
const figures = {
  startup: (m: InvocationResult['metrics']) => m.startup_us,
  'exec (finished − started)': (m: InvocationResult['metrics']) => m.exec_us,
  'former exec (ended − started)': (m: InvocationResult['metrics']) => m.ended_us - m.started_us,
  teardown: (m: InvocationResult['metrics']) => m.teardown_us ?? NaN,
  total: (m: InvocationResult['metrics']) => m.total_us,
};
const fmt = (us: number): string => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);
console.log(`${FN} ${INPUT}, n=${N} per runtime, interleaved, node ${process.version}, ${process.arch}`);
console.log(`| p50 | ${runtimes.join(' | ')} | ${runtimes.slice(1).map((r) => `${r}/wasm`).join(' | ')} |`);
console.log(`| --- | ${runtimes.map(() => '---:').join(' | ')} | ${runtimes.slice(1).map(() => '---:').join(' | ')} |`);
for (const [label, pick] of Object.entries(figures)) {
  const values = runtimes.map((r) => p50(r, pick));
  const ratios = values.slice(1).map((v) => `${(v / values[0]!).toFixed(2)}×`);
  console.log(`| ${label} | ${values.map(fmt).join(' | ')} | ${ratios.join(' | ')} |`);
}
