import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { TargetClient } from '../../src/client/target.js';
import { TargetError } from '../../src/errors.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let server: Server;
let url: string;
let handler: Handler = () => {};
const held: ServerResponse[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const metrics = { received_us: 1, ready_us: 2, started_us: 3, ended_us: 5, startup_us: 1, exec_us: 2, total_us: 4 };
const answer = (input: string): Record<string, unknown> => ({ function: 'echo', runtime: 'wasm', input, output: input, ok: true, exit_code: 0, start_source: 'host', metrics });
const json = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
};

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<TargetError> {
  const error = await p.then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TargetError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, message);
  return error;
}

test('invoke sends the input as the body with the token and returns the checked answer', async () => {
  let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
  handler = (req, body, res) => {
    seen = { method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body };
    json(res, 200, { ...answer(body), extra: 'dropped' });
  };
  const client = new TargetClient(url, { token: 't0k' });
  try {
    const r = await client.invoke('echo', 'héllo', 'wasm', undefined, 'prewarmed');
    assert.deepEqual(r, answer('héllo'));
    assert.deepEqual(seen, { method: 'POST', url: '/functions/echo/invoke?runtime=wasm&mode=prewarmed', auth: 'Bearer t0k', type: 'application/octet-stream', body: 'héllo' });
  } finally {
    await client.close();
  }
});

test('an answer arriving in many chunks, with a multi-byte character split between two, is decoded whole', async () => {
  const big = `${'é'.repeat(40_000)}x`;
  handler = (_req, _body, res) => {
    const bytes = Buffer.from(JSON.stringify(answer(big)));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    // Cut inside a two-byte 'é', then let the rest go in the socket's own pieces.
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    res.write(bytes.subarray(0, cut));
    setTimeout(() => res.end(bytes.subarray(cut)), 20);
  };
  const client = new TargetClient(url);
  try {
    assert.equal((await client.invoke('echo', '1', 'wasm')).output, big);
  } finally {
    await client.close();
  }
});

test('an answer of the wrong shape is bad-response naming the field; a foreign page is not-nebula; an error body is its code', async () => {
  const client = new TargetClient(url);
  try {
    handler = (_req, _body, res) => json(res, 200, { ...answer('1'), ok: 'yes' });
    await rejects(client.invoke('echo', '1', 'wasm'), 'bad-response', /invoke\?runtime=wasm answered with an unexpected shape: .*ok/s);
    handler = (_req, _body, res) => json(res, 404, '<html><head><title>404 Not Found</title>', 'text/html');
    await rejects(client.invoke('echo', '1', 'wasm'), 'not-nebula', /is not a nebula server: POST \/functions\/echo\/invoke\?runtime=wasm answered 404 with text\/html: <html>/);
    handler = (_req, _body, res) => json(res, 503, { error: { code: 'saturated', message: 'queue full' } });
    const e = await rejects(client.invoke('echo', '1', 'wasm'), 'saturated', /→ 503 saturated: queue full/);
    assert.equal(e.status, 503);
  } finally {
    await client.close();
  }
});

test('an abort signal ends a request in flight and one still queued behind it: both are "aborted", and the client stays usable', async () => {
  handler = (_req, _body, res) => held.push(res); // never answers
  const client = new TargetClient(url, { connections: 1 });
  try {
    const controller = new AbortController();
    const inFlight = client.invoke('echo', '1', 'wasm', controller.signal);
    const queued = client.invoke('echo', '2', 'wasm', controller.signal);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await rejects(inFlight, 'aborted', /was aborted before the target answered/);
    await rejects(queued, 'aborted', /was aborted before the target answered/);
    await rejects(client.invoke('echo', '3', 'wasm', controller.signal), 'aborted', /aborted/);
    handler = (_req, body, res) => json(res, 200, answer(body));
    assert.equal((await client.invoke('echo', '4', 'wasm')).output, '4');
  } finally {
    await client.close();
  }
});

test('a target that does not answer within the timeout is unreachable, with the timeout named', async () => {
  handler = (_req, _body, res) => held.push(res);
  const client = new TargetClient(url, { timeoutMs: 100 });
  try {
    await rejects(client.invoke('echo', '1', 'wasm'), 'unreachable', /cannot reach http:\/\/127\.0\.0\.1:\d+: .*[Tt]imeout/);
  } finally {
    await client.close();
  }
});

test('nothing listening is unreachable with a hint', async () => {
  const client = new TargetClient('http://127.0.0.1:1');
  try {
    const e = await rejects(client.invoke('echo', '1', 'wasm'), 'unreachable', /cannot reach http:\/\/127\.0\.0\.1:1: /);
    assert.match(e.hint ?? '', /nebula serve/);
  } finally {
    await client.close();
  }
});
