/**
 * The report's bootstrap intervals as jobs: plain data (values and options) in, an Interval out, so
 * they can run here or in worker threads. Every job seeds its own PRNG, so the result of a job does
 * not depend on where or in which order it runs: the parallel report is bit-identical to the serial one.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bootstrapCI, bootstrapMedianOfMediansRatioCI, type Interval } from './stats.js';

export interface BootOptions {
  seed: number;
  resamples: number;
  level: number;
}

export type BootstrapJob =
  /** Percentile-bootstrap CI of the median of `xs` (bootstrapCI). */
  | { kind: 'median'; xs: number[]; options: BootOptions }
  /** Stratified CI of medianOfMedians(a) / medianOfMedians(b) (bootstrapMedianOfMediansRatioCI). */
  | { kind: 'stratified'; a: number[][]; b: number[][]; options: BootOptions };

/** Computes one job. */
export function runJob(job: BootstrapJob): Interval {
  return job.kind === 'median' ? bootstrapCI(job.xs, job.options) : bootstrapMedianOfMediansRatioCI(job.a, job.b, job.options);
}

/** Work of a job in draws (resamples × values), to split jobs evenly between threads. */
export function jobCost(job: BootstrapJob): number {
  const size = job.kind === 'median' ? job.xs.length : job.a.reduce((s, g) => s + g.length, 0) + job.b.reduce((s, g) => s + g.length, 0);
  return job.options.resamples * size;
}

/** Progress of a long computation: `done` of `total` units. */
export type ProgressFn = (done: number, total: number) => void;

export interface RunJobsOptions {
  /** Worker threads besides this one (default: available cores − 1; 0 runs everything here). */
  workers?: number;
  /** Below this many draws in all, no worker is started (starting one costs more than it saves). */
  minParallelCost?: number;
  onProgress?: ProgressFn;
}

/** Runs `jobs` on this thread, one by one. */
export function runJobsSync(jobs: readonly BootstrapJob[], onProgress?: ProgressFn): Interval[] {
  return jobs.map((job, i) => {
    const result = runJob(job);
    onProgress?.(i + 1, jobs.length);
    return result;
  });
}

const WORKER_URL = new URL(`./bootstrap-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** Under tsx (tests, dev) the worker is a .ts file and Node 20 workers do not inherit tsx's hooks. */
function newWorker(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/** Yields to the event loop so worker messages (and progress) are handled between jobs. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `jobs` on this thread and on worker threads at once; results in job order. The jobs are split
 * beforehand by cost (costliest first, each to the least-loaded thread), so no thread waits for work
 * while this one is busy computing. A worker that fails leaves its unfinished jobs to this thread.
 */
export async function runJobs(jobs: readonly BootstrapJob[], options: RunJobsOptions = {}): Promise<Interval[]> {
  const { onProgress, minParallelCost = 20_000_000 } = options;
  const workers = Math.max(0, Math.min(options.workers ?? availableParallelism() - 1, jobs.length - 1));
  const costs = jobs.map(jobCost);
  const total = costs.reduce((s, c) => s + c, 0);
  if (workers === 0 || total < minParallelCost) return runJobsSync(jobs, onProgress);

  const shares = Array.from({ length: workers + 1 }, () => ({ load: 0, jobs: [] as number[] }));
  for (const i of jobs.map((_, i) => i).sort((x, y) => (costs[y] as number) - (costs[x] as number))) {
    const least = shares.reduce((m, s) => (s.load < m.load ? s : m));
    least.load += costs[i] as number;
    least.jobs.push(i);
  }
  const results: (Interval | undefined)[] = new Array<Interval | undefined>(jobs.length);
  let done = 0;
  const finish = (i: number, interval: Interval): void => {
    results[i] = interval;
    onProgress?.(++done, jobs.length);
  };

  // A share can be empty (zero-cost jobs, e.g. the energy of a run without a meter, all go to one
  // share): a worker given nothing would never answer and the report would wait for it forever.
  const pool = shares.slice(1).filter((share) => share.jobs.length > 0).map(
    (share) =>
      new Promise<void>((resolve) => {
        const worker = newWorker();
        let left = share.jobs.length;
        const stop = (): void => {
          worker.removeAllListeners();
          void worker.terminate();
          resolve();
        };
        worker.on('message', ({ index, interval }: { index: number; interval: Interval }) => {
          finish(index, interval);
          if (--left === 0) stop();
        });
        // Its unfinished jobs are computed below; a worker that exits without an 'error' (killed,
        // out of memory) must not leave this waiting either.
        worker.once('error', stop);
        worker.once('exit', stop);
        worker.postMessage(share.jobs.map((index) => ({ index, job: jobs[index] })));
      }),
  );
  // This thread's share, yielding between jobs so the workers' results (and progress) are handled.
  for (const i of (shares[0] as { jobs: number[] }).jobs) {
    await turn();
    finish(i, runJob(jobs[i] as BootstrapJob));
  }
  await Promise.all(pool);
  for (let i = 0; i < jobs.length; i++) if (!results[i]) finish(i, runJob(jobs[i] as BootstrapJob));
  return results as Interval[];
}
