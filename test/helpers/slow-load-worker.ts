/** A WorkerPool worker whose artifact takes `artifact` ms to load and whose run answers at once (test/server/worker-pool.test.ts). */
import { serveWorker } from '../../src/server/host/worker-loop.js';

await serveWorker<number, Promise<number>, number>(() => ({
  load: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
  prepare: (entry) => entry,
  async run(entry, input, _maxOutputBytes, ready) {
    const ms = await entry;
    ready();
    return { exitCode: 0, stdout: Buffer.from(`loaded in ${ms} ms: ${Buffer.from(input).toString()}`), stderr: new Uint8Array(0), truncated: false };
  },
}));
