/**
 * Performance harness for `nebula report` (not a test). Writes a thesis-sized synthetic run directory
 * into a temp dir — suites/default.yaml: fibonacci-recursive 0–40, exponential 0–706 step 2,
 * factorial 0–130, prime-number 0–6000 step 10 (1,127 inputs), 6 repetitions, wasm and docker
 * interleaved, one warm-up per function × runtime, a metered power timeline: 13,524 measured
 * invocations — and times each stage of the report on it:
 *   load                  loadRuns (streaming JSONL + schema validation)
 *   compare (no boot)     buildReport with 0 resamples: describe, aggregates, Mann–Whitney, per input
 *   bootstrap             buildReport at --resamples minus the above (this thread only)
 *   parallel              buildReportParallel: the same report, bootstrap on this thread + workers
                           (what `nebula report` runs; checked to equal the serial report)
 *   md/csv/json/html/thesis  each exporter's serialize()
 *   command               reportCommand end to end (--format md --out a temp file)
 * Seeded (the same files every time); each stage is run --repeat times and the fastest is printed.
 * Run: node --import tsx bench/report-bench.ts [--resamples 2000] [--hz 20] [--repeat 3] [--keep]
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { reportCommand } from '../src/commands/report.js';
import type { Runtime } from '../src/protocol/api.js';
import type { InvocationLine, RunJson } from '../src/protocol/results.js';
import { buildReport, buildReportParallel } from '../src/report/compare.js';
import { serialize as json } from '../src/report/export/json.js';
import { EXPORTERS, FORMATS } from '../src/report/export/index.js';
import { loadRuns } from '../src/report/load.js';
import { createRng, normal, type Rng } from '../src/report/prng.js';
import { renderSummaryMarkdown, summarize } from '../src/report/summary.js';
import { flagArg, numberArg } from './args.js';

const IDLE_W = 2.474;
const RUN_ID = 'default-20240601-120000';

/** The default suite's sweeps (suites/default.yaml) with a rough exec-time model per input. */
const FUNCTIONS: { name: string; inputs: number[]; execUs: (n: number) => number }[] = [
  { name: 'fibonacci-recursive', inputs: range(0, 40, 1), execUs: (n) => 2 + 0.004 * 1.618 ** Math.min(n, 30) * 10 },
  { name: 'exponential', inputs: range(0, 706, 2), execUs: (n) => 3 + 0.02 * n },
  { name: 'factorial', inputs: range(0, 130, 1), execUs: (n) => 3 + 0.05 * n },
  { name: 'prime-number', inputs: range(0, 6000, 10), execUs: (n) => 3 + 0.08 * n * Math.log(n + 2) ** 2 },
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i += step) out.push(i);
  return out;
}


/** Log-normal noise around a median: latencies are skewed, never negative. */
const jitter = (rng: Rng, median: number, spread: number): number => median * Math.exp(spread * normal(rng));

/** Writes the run directory; returns the number of invocation lines and samples. */
async function generate(dir: string, reps: number, hz: number): Promise<{ lines: number; samples: number }> {
  const rng = createRng(42);
  const all: InvocationLine[] = [];
  const busy: { from: number; to: number; watts: number }[] = [];
  const start = 1_717_243_200_000_000;
  let t = start + 30_000_000; // after a 30 s baseline
  let seq = 0;
  const startup: Record<'wasm' | 'docker', number> = { wasm: 150, docker: 400_000 };
  const invoke = (fn: (typeof FUNCTIONS)[number], input: number, runtime: 'wasm' | 'docker', rep: number, warmup: boolean): void => {
    const su = Math.round(jitter(rng, startup[runtime] * (warmup ? 3 : 1), runtime === 'docker' ? 0.08 : 0.2));
    const exec = Math.max(1, Math.round(jitter(rng, fn.execUs(input) * (runtime === 'wasm' ? 1.4 : 1), 0.05)));
    const received = t;
    const started = received + su;
    const ended = started + exec;
    const watts = IDLE_W + (runtime === 'docker' ? 1.1 : 0.9) * Math.exp(0.05 * normal(rng));
    busy.push({ from: received, to: ended, watts });
    const duration = ended - received;
    const line: InvocationLine = {
      function: fn.name,
      runtime: runtime satisfies Runtime,
      input: String(input),
      output: '1',
      ok: true,
      exit_code: 0,
      start_source: 'function',
      metrics: {
        received_us: received,
        ready_us: received + Math.round(su * 0.8),
        started_us: started,
        ended_us: ended,
        startup_us: su,
        exec_us: exec,
        total_us: duration,
      },
      run_id: RUN_ID,
      seq: seq++,
      rep,
      warmup,
      client: { sent_us: received - 1534, replied_us: ended - 934 },
      clock: { offset_us: 1234, uncertainty_us: 180 },
      energy: {
        method: 'integrated',
        samples: Math.floor(duration / 50_000),
        avg_power_w: Number(watts.toFixed(4)),
        energy_uwh: Number(((watts * duration) / 3600).toFixed(4)),
        baseline_w: IDLE_W,
        isolated_energy_uwh: Number((((watts - IDLE_W) * duration) / 3600).toFixed(4)),
        note: duration < 50_000 ? 'window shorter than the sampling interval (50 ms): interpolated' : null,
      },
    };
    all.push(line);
    t = ended + 2_000 + Math.round(rng() * 3_000);
  };
  for (const fn of FUNCTIONS) {
    for (const r of ['wasm', 'docker'] as const) invoke(fn, fn.inputs[0] as number, r, 0, true);
    for (const input of fn.inputs) for (let rep = 0; rep < reps; rep++) for (const r of ['wasm', 'docker'] as const) invoke(fn, input, r, rep, false);
  }
  await writeFile(join(dir, 'invocations.jsonl'), all.map((l) => JSON.stringify(l) + '\n').join(''));

  const samples = createWriteStream(join(dir, 'samples.jsonl'));
  const step = Math.round(1e6 / hz);
  const end = t + 30_000_000;
  let bi = 0;
  let count = 0;
  let chunk = '';
  for (let s = start; s < end; s += step) {
    while (bi < busy.length && (busy[bi] as { to: number }).to < s) bi++;
    const b = busy[bi];
    const power = Number(((b && b.from <= s ? b.watts : IDLE_W) + 0.004 * normal(rng)).toFixed(4));
    chunk += JSON.stringify({ t_start_us: s, t_end_us: s + 1800, power_w: power, voltage_v: 229.8, current_a: Number((power / 229.8 / 0.52).toFixed(5)), pf: 0.52 }) + '\n';
    count++;
    if (chunk.length > 1 << 20) {
      if (!samples.write(chunk)) await once(samples, 'drain');
      chunk = '';
    }
  }
  samples.end(chunk);
  await once(samples, 'finish');

  const run: RunJson = {
    run_id: RUN_ID,
    suite: { name: 'default', file: 'suites/default.yaml' },
    versions: { nebula: '0.1.0', node: process.version },
    target: { url: 'http://raspberrypi.local:3090', health: { ok: true, version: '0.1.0', arch: 'arm64', runtimes: { wasm: true, component: false, docker: true, native: false } } },
    meter: { spec: 'modbus://192.168.68.70:502?map=gude-epc1105', description: 'Gude EPC 1105' },
    clock: { offset_us: 1234, uncertainty_us: 180 },
    baseline: { before: { seconds: 30, samples: 600, power_w: IDLE_W, spread_w: 0.004 }, after: null, drift_w: null },
    runtimes: ['wasm', 'docker'],
    started_at: new Date(start / 1000).toISOString(),
    ended_at: new Date(end / 1000).toISOString(),
    status: 'completed',
    error: null,
  };
  await writeFile(join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  const summary = summarize(all, { runId: RUN_ID });
  await writeFile(join(dir, 'summary.json'), JSON.stringify(summary) + '\n');
  await writeFile(join(dir, 'summary.md'), renderSummaryMarkdown(summary));
  return { lines: all.length, samples: count };
}

/** Runs `fn` `repeat` times; returns the last result and the fastest wall time in ms. */
async function time<T>(repeat: number, fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  let best = Infinity;
  let value: T | undefined;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    value = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { value: value as T, ms: best };
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function main(): Promise<void> {
  const resamples = numberArg('resamples', 2000);
  const hz = numberArg('hz', 20);
  const reps = numberArg('reps', 6);
  const repeat = numberArg('repeat', 3);
  const root = await mkdtemp(join(tmpdir(), 'nebula-report-bench-'));
  const dir = join(root, RUN_ID);
  await mkdir(dir);
  try {
    const t0 = performance.now();
    const made = await generate(dir, reps, hz);
    console.log(`run directory ${dir}: ${made.lines} invocation lines, ${made.samples} samples (${hz} Hz), written in ${fmt(performance.now() - t0)}`);
    console.log(`node ${process.version}, resamples ${resamples}, fastest of ${repeat}\n`);

    const rows: [string, number][] = [];
    const load = await time(repeat, () => loadRuns([dir]));
    rows.push(['load', load.ms]);
    const runs = load.value;
    const noBoot = await time(repeat, () => buildReport(runs, { resamples: 0 }));
    rows.push(['compare (no bootstrap)', noBoot.ms]);
    const full = await time(repeat, () => buildReport(runs, { resamples }));
    rows.push([`bootstrap (${resamples} resamples)`, full.ms - noBoot.ms]);
    rows.push(['compare + bootstrap', full.ms]);
    const par = await time(repeat, () => buildReportParallel(runs, { resamples }));
    rows.push(['compare + bootstrap, parallel (as the command)', par.ms]);
    if (json({ report: par.value, runs }) !== json({ report: full.value, runs })) throw new Error('the parallel report differs from the serial one');
    for (const format of FORMATS) {
      const out = await time(repeat, () => EXPORTERS[format]({ report: full.value, runs }));
      rows.push([`export ${format} (${(out.value.length / 1e6).toFixed(1)} MB)`, out.ms]);
    }
    const outFile = join(root, 'report.md');
    const cmd = await time(1, () => reportCommand([dir], { format: 'md', out: outFile, resamples: String(resamples) }));
    rows.push(['command: report --format md (end to end)', cmd.ms]);
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, ms] of rows) console.log(`${k.padEnd(width)}  ${fmt(ms).padStart(9)}`);
  } finally {
    if (flagArg('keep')) console.log(`\nkept ${dir}`);
    else await rm(root, { recursive: true, force: true });
  }
}

await main();
