/** The worker pool's timeout covers the function, not the one-time preparation of its artifact in a worker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureAnchor } from '../../src/clock.js';
import { WorkerPool } from '../../src/server/host/worker-pool.js';

const SLOW_LOAD_WORKER = new URL('../helpers/slow-load-worker.ts', import.meta.url);

test('loading an artifact in a worker (a component glue import) does not count against the call timeout', async () => {
  const pool = new WorkerPool<number>({ script: SLOW_LOAD_WORKER, what: 'test', size: 1, queueLimit: 4, anchor: measureAnchor() });
  try {
    // The load takes 3× the timeout; the call itself is instant.
    const first = await pool.run('slow', 600, Buffer.from('a'), { timeoutMs: 200, maxOutputBytes: 1024 });
    assert.equal(Buffer.from(first.stdout).toString(), 'loaded in 600 ms: a');
    const second = await pool.run('slow', 600, Buffer.from('b'), { timeoutMs: 200, maxOutputBytes: 1024 });
    assert.equal(Buffer.from(second.stdout).toString(), 'loaded in 600 ms: b', 'cached: no second load');
  } finally {
    await pool.close();
  }
});
