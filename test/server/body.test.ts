import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest, type RawResponse } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

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

describe('request bodies that fail (one worker, no queue)', () => {
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
