import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { measureAnchor } from '../../src/clock.js';
import { HttpError } from '../../src/server/http-error.js';
import { capMemory } from '../../src/server/wasm-module.js';
import { WasmPool, type WasmPoolOptions } from '../../src/server/wasm-pool.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest, type RawResponse } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

/** stdout as text without the echo fixture's trailing newline. */
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes).replace(/\n$/, '');

/** A promise plus its resolve/reject, standing in for a request body still being read. */
function pendingBody(): { promise: Promise<Uint8Array>; resolve: (b: Uint8Array) => void; reject: (e: Error) => void } {
  let resolve!: (b: Uint8Array) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<Uint8Array>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('wasm pool: instantiation overlaps the body read', () => {
  let echo: WebAssembly.Module;
  const pools: WasmPool[] = [];
  const newPool = (opts: Partial<WasmPoolOptions> = {}): WasmPool => {
    const pool = new WasmPool({ size: 1, queueLimit: 0, timeoutMs: 10_000, maxOutputBytes: 1 << 20, anchor: measureAnchor(), bodyGraceMs: 60_000, ...opts });
    pools.push(pool);
    return pool;
  };
  before(async () => {
    echo = new WebAssembly.Module(capMemory(await fixtureBytes('echo', 'wasm'), 32));
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  test('an input that arrives after dispatch is what the function reads, and ready follows it', async () => {
    const pool = newPool();
    const body = pendingBody();
    const run = pool.run('echo', echo, body.promise);
    await new Promise((r) => setTimeout(r, 20));
    body.resolve(Buffer.from('late but complete'));
    const done = await run;
    assert.equal(text(done.stdout), 'late but complete');
    assert.equal(done.exitCode, 0);
    assert.ok(done.readyUs <= done.endedUs);
  });

  test('a failed body rejects the run with its error and frees the only worker at once', async () => {
    const pool = newPool();
    const body = pendingBody();
    const run = pool.run('echo', echo, body.promise);
    body.reject(new HttpError(413, 'too-large', 'the input is too large'));
    await assert.rejects(run, (e: unknown) => e instanceof HttpError && e.status === 413);
    // queueLimit 0: a worker still held would answer 503 busy here.
    const done = await pool.run('echo', echo, Buffer.from('next'));
    assert.equal(text(done.stdout), 'next');
  });

  test('a queued job whose input arrived while it waited runs with that input', async () => {
    const pool = newPool({ queueLimit: 1 });
    const first = pendingBody();
    const second = pendingBody();
    const a = pool.run('echo', echo, first.promise);
    const b = pool.run('echo', echo, second.promise);
    second.resolve(Buffer.from('second'));
    await new Promise((r) => setTimeout(r, 10));
    first.resolve(Buffer.from('first'));
    assert.equal(text((await a).stdout), 'first');
    assert.equal(text((await b).stdout), 'second');
  });

  test('a late body gives its worker back: a queued job runs meanwhile, then the late one with its input', async () => {
    const pool = newPool({ queueLimit: 1, bodyGraceMs: 10 });
    const slow = pendingBody();
    const late = pool.run('echo', echo, slow.promise);
    const other = await pool.run('echo', echo, Buffer.from('not blocked'));
    assert.equal(text(other.stdout), 'not blocked');
    slow.resolve(Buffer.from('arrived at last'));
    assert.equal(text((await late).stdout), 'arrived at last');
  });
});

/** Sends a chunked POST (no Content-Length) of `size` bytes. */
function chunkedPost(base: string, path: string, size: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, text: body, json: JSON.parse(body) as unknown, headers: res.headers });
      });
    });
    req.on('error', reject);
    for (let sent = 0; sent < size; sent += 256) req.write('x'.repeat(Math.min(256, size - sent)));
    req.end();
  });
}

describe('wasm invoke while the body is read (one worker, no queue)', () => {
  test('a 413 on invoke leaves the pool working, with and without a Content-Length', async () => {
    const t = await startTestServer({ docker: false, workers: 1, queueLimit: 0, maxInputBytes: 1024 });
    try {
      await t.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
      const declared = await rawRequest(t.url, 'POST', '/functions/echo/invoke', 'x'.repeat(1025));
      assert.equal(declared.status, 413);
      assert.match(declared.text, /--max-input-kb/);
      const chunked = await chunkedPost(t.url, '/functions/echo/invoke', 4096);
      assert.equal(chunked.status, 413);
      assert.equal(errorCode(chunked), 'too-large');
      assert.equal((await t.client.invoke('echo', 'still works', 'wasm')).output, 'still works');
    } finally {
      await t.close();
    }
  });

  test('a client that aborts mid-body frees its worker; the next invocation runs', async () => {
    const t = await startTestServer({ docker: false, workers: 1, queueLimit: 0 });
    try {
      await t.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
      const url = new URL(t.url);
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/functions/echo/invoke',
        headers: { 'content-length': '100' },
        agent: false,
      });
      req.on('error', () => undefined); // we destroy it ourselves
      req.write('only ten b');
      await new Promise((r) => setTimeout(r, 20));
      req.destroy();
      // The server counts the abort once it has seen it.
      let metrics = '';
      for (let i = 0; i < 100 && !metrics.includes('reason="body-aborted"'); i++) {
        metrics = (await rawRequest(t.url, 'GET', '/metrics')).text;
        if (!metrics.includes('reason="body-aborted"')) await new Promise((r) => setTimeout(r, 10));
      }
      assert.match(metrics, /^nebula_invocation_errors_total\{function="echo",runtime="wasm",reason="body-aborted"\} 1$/m);
      assert.equal((await t.client.invoke('echo', 'after the abort', 'wasm')).output, 'after the abort');
    } finally {
      await t.close();
    }
  });
});
