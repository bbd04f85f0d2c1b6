/**
 * A corpus of bad requests (docs/reliability.md): each must get its documented status and a JSON
 * error body `{"error":{"code","message"}}` — never a 500, never a hang — and after the whole corpus
 * a normal invocation still works.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes } from '../helpers/fixtures.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const TOKEN = 'corpus-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };

const CORPUS: Case[] = [
  { name: 'traversal in the name', method: 'POST', path: '/functions/..%2f..%2fetc/invoke', body: '1', status: 400, code: 'bad-name' },
  { name: 'upper-case name', method: 'POST', path: '/functions/Echo/invoke', body: '1', status: 400, code: 'bad-name' },
  { name: 'bad percent-encoding', method: 'POST', path: '/functions/%zz/invoke', body: '1', status: 400, code: 'bad-name' },
  { name: '64-character name', method: 'POST', path: `/functions/${'a'.repeat(64)}/invoke`, body: '1', status: 400, code: 'bad-name' },
  { name: 'unknown runtime', method: 'POST', path: '/functions/echo/invoke?runtime=jvm', body: '1', status: 400, code: 'bad-runtime' },
  { name: 'runtime with an escape', method: 'POST', path: '/functions/echo/invoke?runtime=%1b%5b2J', body: '1', status: 400, code: 'bad-runtime' },
  { name: 'unknown function', method: 'POST', path: '/functions/nope/invoke', body: '1', status: 404, code: 'not-found' },
  { name: 'GET on invoke', method: 'GET', path: '/functions/echo/invoke', status: 405, code: 'method-not-allowed' },
  { name: 'unknown route', method: 'GET', path: '/admin', status: 404, code: 'no-route' },
  { name: 'NUL in the input', method: 'POST', path: '/functions/echo/invoke', body: 'a\0b', status: 400, code: 'bad-input' },
  { name: 'NUL only', method: 'POST', path: '/functions/echo/invoke', body: '\0', status: 400, code: 'bad-input' },
  { name: 'input over the limit', method: 'POST', path: '/functions/echo/invoke', body: 'x'.repeat(4097), status: 413, code: 'too-large' },
  { name: 'body on GET', method: 'GET', path: '/functions', body: 'xx', headers: { 'content-length': '2' }, status: 413, code: 'too-large' },
  { name: 'thesis: not JSON', method: 'POST', path: '/invoke_function', body: '{"function_name":', headers: json, status: 400, code: 'bad-body' },
  { name: 'thesis: JSON array', method: 'POST', path: '/invoke_function', body: '[1,2]', headers: json, status: 400, code: 'bad-body' },
  { name: 'thesis: deep JSON', method: 'POST', path: '/invoke_function', body: `{"a":${'['.repeat(40)}${']'.repeat(40)}}`, headers: json, status: 400, code: 'bad-body' },
  { name: 'thesis: no function_name', method: 'POST', path: '/invoke_function', body: '{"input":"1"}', headers: json, status: 400, code: 'bad-body' },
  { name: 'thesis: bad module_type', method: 'POST', path: '/invoke_function', body: '{"function_name":"echo","module_type":"Jvm"}', headers: json, status: 400, code: 'bad-body' },
  { name: 'thesis: bad name', method: 'POST', path: '/invoke_function', body: `{"function_name":"${'A'.repeat(5000)}"}`, headers: json, status: 400, code: 'bad-name' },
  { name: 'thesis: NUL input (form)', method: 'POST', path: '/invoke_function', body: 'function_name=echo&input=1%002', status: 400, code: 'bad-input' },
  {
    name: 'thesis: multipart without boundary',
    method: 'POST',
    path: '/invoke_function',
    body: 'x',
    headers: { 'content-type': 'multipart/form-data' },
    status: 400,
    code: 'bad-body',
  },
  { name: 'deploy without token', method: 'PUT', path: '/functions/x/wasm', body: '\0asm', status: 401, code: 'unauthorized' },
  { name: 'deploy with a wrong token', method: 'PUT', path: '/functions/x/wasm', body: '\0asm', headers: { authorization: 'Bearer nope' }, status: 401, code: 'unauthorized' },
  { name: 'deploy an empty body', method: 'PUT', path: '/functions/x/wasm', body: '', headers: auth, status: 400, code: 'empty-body' },
  { name: 'deploy garbage as wasm', method: 'PUT', path: '/functions/x/wasm', body: 'not wasm at all', headers: auth, status: 422, code: 'invalid-artifact' },
  { name: 'deploy a truncated module', method: 'PUT', path: '/functions/x/wasm', body: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff]), headers: auth, status: 422, code: 'invalid-artifact' },
  { name: 'deploy garbage as native', method: 'PUT', path: '/functions/x/native', body: '#!/bin/sh\necho hi\n', headers: auth, status: 422, code: 'invalid-artifact' },
  { name: 'deploy an unknown kind', method: 'PUT', path: '/functions/x/jar', body: 'x', headers: auth, status: 404, code: 'not-found' },
  { name: 'delete an unknown function', method: 'DELETE', path: '/functions/nope', headers: auth, status: 404, code: 'not-found' },
];

describe('bad-inputs corpus', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ docker: false, token: TOKEN, maxInputBytes: 4096 });
    await t.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
  });
  after(async () => {
    await t.close();
  });

  for (const c of CORPUS) {
    test(`${c.name}: ${c.method} → ${c.status} ${c.code}`, async () => {
      const r = await rawRequest(t.url, c.method, c.path, c.body, c.headers);
      assert.equal(r.status, c.status, r.text.slice(0, 300));
      const body = r.json as { error?: { code?: unknown; message?: unknown } } | undefined;
      assert.equal(body?.error?.code, c.code, r.text.slice(0, 300));
      assert.equal(typeof body?.error?.message, 'string');
      assert.ok(r.text.length < 2000, `a ${r.text.length}-byte error body`);
    });
  }

  test('after the corpus the server answers a normal invocation', async () => {
    assert.equal((await t.client.invoke('echo', 'fine', 'wasm')).output, 'fine');
  });
});
