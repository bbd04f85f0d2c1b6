import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission } from '../../src/server/admission.js';
import { HttpError } from '../../src/server/http-error.js';

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

test('slots run at once, the queue waits in order, past it a 503 busy with Retry-After comes at once', async () => {
  const a = new Admission({ what: 'wasm', slots: 2, queue: 2, queueTimeoutMs: 60_000, nowUs });
  const r1 = await a.acquire();
  const r2 = await a.acquire();
  const order: number[] = [];
  const w3 = a.acquire().then((r) => (order.push(3), r));
  const w4 = a.acquire().then((r) => (order.push(4), r));
  assert.deepEqual(a.stats(), { slots: 2, queue: 2, inFlight: 2, queued: 2, refusedBusy: 0, refusedTimeout: 0 });
  await assert.rejects(a.acquire(), (e: unknown) => e instanceof HttpError && e.status === 503 && e.code === 'busy' && (e.retryAfterS ?? 0) >= 1);
  r1();
  r1(); // a second release of the same slot changes nothing
  (await w3)();
  r2();
  (await w4)();
  assert.deepEqual(order, [3, 4]);
  assert.deepEqual(a.stats(), { slots: 2, queue: 2, inFlight: 0, queued: 0, refusedBusy: 1, refusedTimeout: 0 });
});

test('a wait longer than the queue timeout is 503 queue-timeout and leaves the queue', async () => {
  const a = new Admission({ what: 'docker', slots: 1, queue: 4, queueTimeoutMs: 30, nowUs });
  const held = await a.acquire();
  await assert.rejects(a.acquire(), (e: unknown) => e instanceof HttpError && e.code === 'queue-timeout' && /--queue-timeout-ms/.test(e.message));
  assert.equal(a.stats().queued, 0);
  assert.equal(a.stats().refusedTimeout, 1);
  held();
  (await a.acquire())();
  assert.equal(a.stats().inFlight, 0);
});
