import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runJobs, runJobsSync, type BootstrapJob } from '../../src/report/bootstrap-jobs.js';
import { buildReport, buildReportParallel } from '../../src/report/compare.js';
import { serialize as json } from '../../src/report/export/json.js';
import { loadRuns } from '../../src/report/load.js';
import { createRng, Sfc32 } from '../../src/report/prng.js';
import { rankGroups, resampleMedians } from '../../src/report/resample.js';
import { median } from '../../src/report/stats.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'runs');
const runs = await loadRuns([path.join(fixtures, 'pi-default-20240503-120000'), path.join(fixtures, 'vm-default-20240504-090000')]);

test('the report bootstrapped in a worker thread equals the one computed on this thread, and reports progress', async () => {
  const serial = buildReport(runs, { resamples: 300 });
  const progress: string[] = [];
  const parallel = await buildReportParallel(runs, {
    resamples: 300,
    workers: 1,
    minParallelCost: 0,
    onProgress: (done, total) => progress.push(`${done}/${total}`),
  });
  assert.equal(json({ report: parallel, runs }), json({ report: serial, runs }));
  // One call per interval, ending at total/total.
  const total = Number(progress[0]?.split('/')[1]);
  assert.equal(progress.length, total);
  assert.equal(progress.at(-1), `${total}/${total}`);
});

test('resampled medians from ranks equal copying the draws and taking their median, for small, tied and large groups', () => {
  const rng = createRng(11);
  const groups = [[], [5], [3, 1], [2, 2, 2, 1], [9, 1, 4, 4, 7, 1]];
  groups.push(Array.from({ length: 65 }, () => Math.floor(rng() * 10)), Array.from({ length: 301 }, () => rng() * 1e6));
  const ranked = rankGroups(groups);
  const fast = new Sfc32(3);
  const slow = new Sfc32(3);
  const counts = new Int32Array(ranked.maxSize);
  const out = new Float64Array(groups.length);
  for (let b = 0; b < 200; b++) {
    resampleMedians(ranked, fast, counts, out);
    groups.forEach((g, gi) => {
      const draws = g.map(() => g[slow.index(g.length)] as number);
      assert.ok(Object.is(out[gi], median(draws)), `resample ${b}, group ${gi}: ${out[gi]} vs ${median(draws)}`);
    });
    assert.ok(counts.every((c) => c === 0), 'counts are zero again');
  }
});

test('runJobs finishes when some worker threads would get no job (zero-cost jobs of empty samples)', { timeout: 60_000 }, async () => {
  const options = { seed: 1, resamples: 50, level: 0.95 };
  // One costly job and four of cost 0: with 4 workers the greedy split leaves three shares empty.
  const jobs: BootstrapJob[] = [{ kind: 'median', xs: [1, 2, 3, 4, 5], options }, ...Array.from({ length: 4 }, () => ({ kind: 'median' as const, xs: [], options }))];
  const results = await runJobs(jobs, { workers: 4, minParallelCost: 0 });
  assert.deepEqual(results, runJobsSync(jobs));
});
