/** GET /settled: waits for no invocation and no runtime clean-up to be running (docs/api.md). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { measureAnchor } from '../../src/clock.js';
import { RuntimeError } from '../../src/server/host/errors.js';
import { WorkerPool, workerScript } from '../../src/server/host/worker-pool.js';
import { prepareWasm } from '../../src/server/runtimes/wasm/module.js';
import { containersLabelled, requireDockerOrSkip } from '../helpers/docker.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('GET /settled', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ timeoutMs: 1500 });
    for (const kind of ['wasm', 'native'] as const) {
      await t.client.putArtifact('st-loop', kind, await fixtureBytes('loop', kind));
      await t.client.putArtifact('st-echo', kind, await fixtureBytes('echo', kind));
    }
  });
  after(async () => {
    for (const name of ['st-loop', 'st-echo']) await rawRequest(t.url, 'DELETE', `/functions/${name}`);
    await t.close();
  });

  test('an idle server is settled at once, with nothing in flight and no background work', async () => {
    const answer = await t.client.settled(0);
    assert.deepEqual({ ...answer, waited_us: 0 }, { settled: true, waited_us: 0, in_flight: 0, background: 0 });
    assert.ok(answer.waited_us < 1_000_000, `waited ${answer.waited_us} µs on an idle server`);
  });

  test('wait_ms that is not a whole number of ms from 0 to 60000 is refused, naming the parameter', async () => {
    for (const bad of ['-1', '1.5', 'abc', '60001', '', '1e3']) {
      const r = await rawRequest(t.url, 'GET', `/settled?wait_ms=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(errorCode(r), 'bad-wait', bad);
      assert.match(r.text, /wait_ms/);
    }
  });

  for (const runtime of ['wasm', 'native'] as const) {
    test(`${runtime}: while an invocation runs the server is not settled; a wait returns once it and its clean-up are done`, async () => {
      const running = t.client.invoke('st-loop', 'x', runtime).then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      // The request must have reached the server before we ask.
      let busy = await t.client.settled(0);
      for (let i = 0; i < 100 && busy.in_flight === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        busy = await t.client.settled(0);
      }
      assert.equal(busy.settled, false);
      assert.equal(busy.in_flight, 1);
      const waited = await t.client.settled(10_000);
      assert.equal(waited.settled, true);
      assert.equal(waited.in_flight + waited.background, 0);
      assert.ok(waited.waited_us > 0, 'it waited for the runaway call (stopped at --timeout-ms)');
      assert.match(await running, /timeout/, 'the runaway call itself ended in a timeout');
    });
  }

  test('a wait that runs out answers settled:false with what is still running', async () => {
    const running = t.client.invoke('st-loop', 'x', 'wasm').catch(() => undefined);
    let answer = await t.client.settled(0);
    for (let i = 0; i < 100 && answer.in_flight === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      answer = await t.client.settled(0);
    }
    answer = await t.client.settled(50);
    assert.equal(answer.settled, false);
    assert.equal(answer.in_flight, 1);
    assert.ok(answer.waited_us >= 50_000, `waited ${answer.waited_us} µs of 50 ms`);
    await running;
  });

  test('docker: once settled after a call, its container has been removed', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    await t.client.putArtifact('st-dk', 'native', await fixtureBytes('echo', 'native'));
    try {
      const r = await t.client.invoke('st-dk', 'hi', 'docker');
      assert.equal(r.output, 'hi');
      const answer = await t.client.settled(10_000);
      assert.equal(answer.settled, true);
      assert.deepEqual((await containersLabelled('st-dk')).map((x) => x.Id), [], 'settled while the container was still there');
    } finally {
      await rawRequest(t.url, 'DELETE', '/functions/st-dk');
    }
  });
});

describe('WorkerPool.wake (what a settled server does before answering)', () => {
  const WASM_WORKER = workerScript(new URL('../../src/server/runtimes/wasm/runtime.ts', import.meta.url).href, 'worker');
  const LIMITS = { timeoutMs: 20_000, maxOutputBytes: 1024 };

  test('every idle worker answers its ping; a busy one is left alone and its call goes on; calls after a wake run normally', async () => {
    const pool = new WorkerPool<WebAssembly.Module>({ script: WASM_WORKER, what: 'wasm', size: 2, queueLimit: 4, anchor: measureAnchor() });
    try {
      const echo = await prepareWasm(await fixtureBytes('echo', 'wasm'), 8);
      const loop = await prepareWasm(await fixtureBytes('loop', 'wasm'), 8);
      // Both workers have booted once each has run a call.
      await Promise.all([pool.run('echo', echo, Buffer.from('a'), LIMITS), pool.run('echo', echo, Buffer.from('b'), LIMITS)]);
      assert.equal(await pool.wake(), 2);
      const busy = pool.run('loop', loop, Buffer.from('1'), { ...LIMITS, timeoutMs: 300 });
      assert.equal(await pool.wake(), 1, 'only the idle worker is pinged');
      await assert.rejects(busy, (e: unknown) => e instanceof RuntimeError && e.kind === 'timeout');
      const ok = await pool.run('echo', echo, Buffer.from('after a wake'), LIMITS);
      assert.equal(Buffer.from(ok.stdout).toString().trim(), 'after a wake');
    } finally {
      await pool.close();
    }
  });
});
