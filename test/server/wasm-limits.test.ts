import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureAnchor } from '../../src/clock.js';
import { RuntimeError } from '../../src/server/host/errors.js';
import { WorkerPool, workerScript } from '../../src/server/host/worker-pool.js';
import { capTables } from '../../src/server/host/wasm-binary.js';
import { prepareWasm } from '../../src/server/runtimes/wasm/module.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';
import { tableBomb } from '../helpers/wasm-attacks.js';

const WASM_WORKER = workerScript(new URL('../../src/server/runtimes/wasm/runtime.ts', import.meta.url).href, 'worker');
const LIMITS = { timeoutMs: 20_000, maxOutputBytes: 1024 };

/** Grows of 10M entries (V8's largest table) on 200 tables: ~32 GB of heap if nothing caps them. */
const BOMB = tableBomb(200, 10_000_000);

test('capTables gives every table a share of the entry budget; a table that starts above its share is refused', async () => {
  const capped = capTables(tableBomb(4, 10), 100);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(capped), { wasi_snapshot_preview1: { proc_exit: () => undefined } });
  assert.ok(instance);
  const exported = WebAssembly.Module.exports(new WebAssembly.Module(capped));
  assert.ok(exported.some((e) => e.name === '_start'));
  // One table of 2 entries at start with a budget of 1: refused with a reason.
  const big = Buffer.from(tableBomb(1, 1));
  const at = big.indexOf(Buffer.from([0x04, 0x04, 0x01, 0x70, 0x00, 0x00]));
  big[at + 5] = 2; // min 2
  assert.throws(() => capTables(big, 1), (e: unknown) => e instanceof RuntimeError && e.kind === 'invalid-artifact' && /at most 1 entries/.test(e.message));
  await assert.doesNotReject(prepareWasm(BOMB, 8));
});

test('a table bomb (200 tables grown by 10M entries each) is capped at deploy: every grow fails, and the server serves a normal call meanwhile', async () => {
  const t = await startTestServer({ workers: 2, timeoutMs: 20_000 });
  try {
    await t.client.putArtifact('rl-bomb', 'wasm', Buffer.from(BOMB));
    await t.client.putArtifact('rl-echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    const rssBefore = process.memoryUsage().rss;
    const [bombs, normal] = await Promise.all([
      Promise.all([1, 2, 3].map(() => rawRequest(t.url, 'POST', '/functions/rl-bomb/invoke?runtime=wasm', ''))),
      t.client.invoke('rl-echo', 'still here', 'wasm'),
    ]);
    for (const r of bombs) {
      assert.equal(r.status, 200, r.text);
      // exit code = how many table.grow calls succeeded.
      assert.equal((r.json as { exit_code: number }).exit_code, 0, r.text);
    }
    assert.equal(normal.output, 'still here');
    // Three uncapped bombs would have needed tens of GB; capped, they fit in a few MB each.
    assert.ok(process.memoryUsage().rss - rssBefore < 512 * 1024 * 1024, `RSS grew by ${(process.memoryUsage().rss - rssBefore) >> 20} MiB`);
    assert.equal((await t.client.invoke('rl-echo', 'after', 'wasm')).output, 'after');
  } finally {
    await t.close();
  }
});

test('a guest that exhausts its worker heap (an uncapped table bomb) fails out of memory; the worker is replaced, not the process', async () => {
  // The deploy-time caps are bypassed on purpose: this checks the backstop, the worker's own heap
  // limit, against growth in steps (30 tables × 250k entries, ~120 MB). One allocation far above the
  // limit (a single 10M-entry grow) would still abort the process inside V8: that is what the
  // deploy-time table cap prevents.
  const pool = new WorkerPool<WebAssembly.Module>({ script: WASM_WORKER, what: 'wasm', size: 1, queueLimit: 4, anchor: measureAnchor(), heapMb: 32 });
  try {
    const echo = await prepareWasm(await fixtureBytes('echo', 'wasm'), 8);
    const bomb = await WebAssembly.compile(tableBomb(30, 250_000));
    const failed = await pool.run('bomb', bomb, new Uint8Array(0), LIMITS);
    assert.equal(failed.exitCode, null);
    assert.match(failed.error ?? '', /out of memory: .* 32 MiB heap/);
    const ok = await pool.run('echo', echo, Buffer.from('after oom'), LIMITS);
    assert.equal(Buffer.from(ok.stdout).toString().trim(), 'after oom');
    assert.equal(pool.size, 1);
  } finally {
    await pool.close();
  }
  assert.equal(pool.stopping, 0);
});

test('a worker stopped at the timeout really exits: the pool tracks it until its thread is gone, and close() waits for it', async () => {
  const pool = new WorkerPool<WebAssembly.Module>({ script: WASM_WORKER, what: 'wasm', size: 1, queueLimit: 4, anchor: measureAnchor() });
  try {
    const loop = await prepareWasm(await fixtureBytes('loop', 'wasm'), 8);
    const echo = await prepareWasm(await fixtureBytes('echo', 'wasm'), 8);
    await assert.rejects(pool.run('loop', loop, Buffer.from('1'), { ...LIMITS, timeoutMs: 200 }), (e: unknown) => e instanceof RuntimeError && e.kind === 'timeout');
    assert.equal(pool.size, 1, 'replaced at once');
    const ok = await pool.run('echo', echo, Buffer.from('next'), LIMITS);
    assert.equal(Buffer.from(ok.stdout).toString().trim(), 'next');
    for (let i = 0; i < 200 && pool.stopping > 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(pool.stopping, 0, 'the terminated worker thread exited');
  } finally {
    await pool.close();
  }
});
