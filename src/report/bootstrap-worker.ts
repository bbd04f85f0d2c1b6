/** Worker thread of the report's bootstrap (bootstrap-jobs.ts): jobs in, each Interval out as it is done. */
import { parentPort } from 'node:worker_threads';
import { runJob, type BootstrapJob } from './bootstrap-jobs.js';

parentPort?.on('message', (jobs: { index: number; job: BootstrapJob }[]) => {
  for (const { index, job } of jobs) parentPort?.postMessage({ index, interval: runJob(job) });
});
