/**
 * The load generator's minimal HTTP client (src/client/invoke-connection.ts, reached through
 * TargetClient.invokeUnderLoad) against real servers on 127.0.0.1: a node:http server for the cases
 * test/client/target.test.ts holds TargetClient.invoke to — both clients must give the same result or
 * the same error — and a raw TCP server for what only bytes on the wire can show (answers split
 * anywhere, chunked bodies, a server closing the connection).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { TargetClient } from '../../src/client/target.js';
import { TargetError } from '../../src/errors.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let server: Server;
let url: string;
let handler: Handler = () => {};
const held: ServerResponse[] = [];
/** Sockets the node:http server accepted: keep-alive reuse shows as one socket for many requests. */
let accepted = 0;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  server.on('connection', () => accepted++);
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

/** The error a promise rejects with (fails the test when it resolves). */
async function errorOf(p: Promise<unknown>): Promise<TargetError> {
  const error = await p.then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TargetError, String(error));
  return error;
}

/** Both clients' errors for the same request: same code, status, exit code and message (ports aside). */
async function sameError(client: TargetClient, code: string, message: RegExp): Promise<TargetError> {
  const viaUndici = await errorOf(client.invoke('echo', '1', 'wasm'));
  const viaLean = await errorOf(client.invokeUnderLoad('echo', '1', 'wasm'));
  for (const e of [viaUndici, viaLean]) {
    assert.equal(e.code, code);
    assert.match(e.message, message);
  }
  assert.deepEqual(
    { code: viaLean.code, status: viaLean.status, exitCode: viaLean.exitCode, hint: viaLean.hint, message: viaLean.message },
    { code: viaUndici.code, status: viaUndici.status, exitCode: viaUndici.exitCode, hint: viaUndici.hint, message: viaUndici.message },
  );
  return viaLean;
}

test('sends the input as the body with the token and returns the same checked answer as invoke; connections are reused', async () => {
  let seen: { method?: string; url?: string; auth?: string; type?: string; length?: string; body?: string } = {};
  handler = (req, body, res) => {
    seen = { method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], length: req.headers['content-length'], body };
    json(res, 200, { ...answer(body), extra: 'dropped' });
  };
  const client = new TargetClient(url, { token: 't0k', connections: 2 });
  try {
    const r = await client.invokeUnderLoad('echo', 'héllo', 'wasm', undefined, 'prewarmed');
    assert.deepEqual(r, await client.invoke('echo', 'héllo', 'wasm', undefined, 'prewarmed'));
    assert.deepEqual(r, answer('héllo'));
    assert.deepEqual(seen, { method: 'POST', url: '/functions/echo/invoke?runtime=wasm&mode=prewarmed', auth: 'Bearer t0k', type: 'application/octet-stream', length: '6', body: 'héllo' });
    const before = accepted;
    for (let i = 0; i < 20; i++) assert.equal((await client.invokeUnderLoad('echo', String(i), 'wasm')).output, String(i));
    // Two at a time over a pool of two: still no new connection.
    await Promise.all([client.invokeUnderLoad('echo', 'a', 'wasm'), client.invokeUnderLoad('echo', 'b', 'wasm')]);
    assert.ok(accepted - before <= 1, `${accepted - before} new connections for 22 requests on a warm pool of 2`);
    // More in flight than connections: the rest wait for a free one and all are answered.
    const outputs = await Promise.all(Array.from({ length: 7 }, (_, i) => client.invokeUnderLoad('echo', `q${i}`, 'wasm').then((a) => a.output)));
    assert.deepEqual(outputs, Array.from({ length: 7 }, (_, i) => `q${i}`));
    assert.ok(accepted - before <= 1, 'the queued requests went over the same two connections');
    // An empty input is an empty body, as with undici.
    assert.equal((await client.invokeUnderLoad('echo', '', 'wasm')).output, '');
    assert.equal(seen.length, '0');
  } finally {
    await client.close();
  }
});

test('an answer in many chunks, a multi-byte character split between two, is decoded whole by both clients', async () => {
  const big = `${'é'.repeat(40_000)}x`;
  handler = (_req, _body, res) => {
    const bytes = Buffer.from(JSON.stringify(answer(big)));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    res.write(bytes.subarray(0, cut));
    setTimeout(() => res.end(bytes.subarray(cut)), 20);
  };
  const client = new TargetClient(url);
  try {
    assert.equal((await client.invokeUnderLoad('echo', '1', 'wasm')).output, big);
    assert.equal((await client.invoke('echo', '1', 'wasm')).output, big);
  } finally {
    await client.close();
  }
});

test('a chunked answer (no content-length) is read whole, and the connection is reused after it', async () => {
  handler = (_req, body, res) => {
    const text = JSON.stringify(answer(body));
    res.writeHead(200, { 'content-type': 'application/json' }); // node:http then sends it chunked
    res.write(text.slice(0, 10));
    setTimeout(() => res.end(text.slice(10)), 10);
  };
  const client = new TargetClient(url, { connections: 1 });
  try {
    assert.equal((await client.invokeUnderLoad('echo', 'c1', 'wasm')).output, 'c1');
    const before = accepted;
    assert.equal((await client.invokeUnderLoad('echo', 'c2', 'wasm')).output, 'c2');
    assert.equal(accepted, before, 'the second request went over the first connection');
  } finally {
    await client.close();
  }
});

test('wrong shape, a foreign page, a 503 with an error body, an error status with a foreign body: both clients say the same', async () => {
  const client = new TargetClient(url);
  try {
    handler = (_req, _body, res) => json(res, 200, { ...answer('1'), ok: 'yes' });
    await sameError(client, 'bad-response', /invoke\?runtime=wasm answered with an unexpected shape: .*ok/s);
    handler = (_req, _body, res) => json(res, 200, '<html><body>hello</body></html>', 'text/html');
    await sameError(client, 'not-nebula', /answered 200 with text\/html: <html>/);
    handler = (_req, _body, res) => json(res, 404, '<html><head><title>404 Not Found</title>', 'text/html');
    await sameError(client, 'not-nebula', /is not a nebula server: POST \/functions\/echo\/invoke\?runtime=wasm answered 404 with text\/html: <html>/);
    handler = (_req, _body, res) => json(res, 503, { error: { code: 'saturated', message: 'queue full' } });
    const e = await sameError(client, 'saturated', /→ 503 saturated: queue full/);
    assert.equal(e.status, 503);
    handler = (_req, _body, res) => json(res, 502, { message: 'bad gateway' });
    await sameError(client, 'not-nebula', /answered 502 with application\/json: \{"message":"bad gateway"\}/);
    handler = (_req, _body, res) => json(res, 401, { error: { code: 'unauthorized', message: 'token required' } });
    const u = await sameError(client, 'unauthorized', /→ 401 unauthorized/);
    assert.match(u.hint ?? '', /--token/);
    // Still usable after every one of those.
    handler = (_req, body, res) => json(res, 200, answer(body));
    assert.equal((await client.invokeUnderLoad('echo', 'ok', 'wasm')).output, 'ok');
  } finally {
    await client.close();
  }
});

test('an abort ends a request in flight and one queued behind it: both "aborted"; an aborted signal fails at once; the client stays usable', async () => {
  handler = (_req, _body, res) => held.push(res); // never answers
  const client = new TargetClient(url, { connections: 1 });
  try {
    const controller = new AbortController();
    const inFlight = client.invokeUnderLoad('echo', '1', 'wasm', controller.signal);
    const queued = client.invokeUnderLoad('echo', '2', 'wasm', controller.signal);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    for (const p of [inFlight, queued]) {
      const e = await errorOf(p);
      assert.equal(e.code, 'aborted');
      assert.match(e.message, /was aborted before the target answered/);
    }
    assert.equal((await errorOf(client.invokeUnderLoad('echo', '3', 'wasm', controller.signal))).code, 'aborted');
    handler = (_req, body, res) => json(res, 200, answer(body));
    assert.equal((await client.invokeUnderLoad('echo', '4', 'wasm')).output, '4');
  } finally {
    await client.close();
  }
});

test('a target that does not answer within the timeout is unreachable with the timeout named, as with invoke', async () => {
  handler = (_req, _body, res) => held.push(res);
  const client = new TargetClient(url, { timeoutMs: 100 });
  try {
    for (const p of [client.invokeUnderLoad('echo', '1', 'wasm'), client.invoke('echo', '1', 'wasm')]) {
      const e = await errorOf(p);
      assert.equal(e.code, 'unreachable');
      assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: .*[Tt]imeout/);
    }
  } finally {
    await client.close();
  }
});

test('nothing listening is unreachable with the same hint as invoke', async () => {
  const client = new TargetClient('http://127.0.0.1:1');
  try {
    const e = await sameError(client, 'unreachable', /cannot reach http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.match(e.hint ?? '', /nebula serve/);
  } finally {
    await client.close();
  }
});

/** A raw TCP server: `respond` gets each request's text (head and body) and the socket to write to. */
async function tcpServer(respond: (request: string, socket: Socket) => void): Promise<{ server: TcpServer; url: string; accepted: () => number }> {
  let count = 0;
  const s = createTcpServer((socket) => {
    count++;
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (Buffer.byteLength(buffered.slice(end + 4)) < length) return;
        const request = buffered.slice(0, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        respond(request, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: s, url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, accepted: () => count };
}

const bodyOf = (request: string): string => request.slice(request.indexOf('\r\n\r\n') + 4);

test('an answer split across TCP writes at every awkward place (inside the status line, the head end, a chunk size) is read whole', async () => {
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
  const t = await tcpServer((request, socket) => {
    const body = JSON.stringify(answer(bodyOf(request)));
    const chunked = body.length % 2 === 0;
    const wire = chunked
      ? `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7;ext=1\r\n${body.slice(0, 7)}\r\n${Buffer.byteLength(body.slice(7)).toString(16)}\r\n${body.slice(7)}\r\n0\r\nX-Trailer: y\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // One byte at a time for the first 120 bytes, then the rest.
    void (async () => {
      const bytes = Buffer.from(wire);
      for (let i = 0; i < Math.min(120, bytes.length); i++) {
        socket.write(bytes.subarray(i, i + 1));
        await pause();
      }
      socket.write(bytes.subarray(120));
    })();
  });
  const client = new TargetClient(t.url, { connections: 1 });
  try {
    // Inputs of both parities: both the content-length and the chunked form.
    for (const input of ['ab', 'abc', 'héllo', 'x']) assert.deepEqual(await client.invokeUnderLoad('echo', input, 'wasm'), answer(input));
    assert.equal(t.accepted(), 1, 'one connection for all four');
  } finally {
    await client.close();
    t.server.close();
  }
});

test('a server that closes the connection (after "connection: close", or idle) is reconnected for the next request', async () => {
  let mode: 'close-header' | 'then-hang-up' = 'close-header';
  const t = await tcpServer((request, socket) => {
    const body = JSON.stringify(answer(bodyOf(request)));
    if (mode === 'close-header') {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      setTimeout(() => socket.end(), 20); // an idle keep-alive socket closed by the server
    }
  });
  const client = new TargetClient(t.url, { connections: 1 });
  try {
    assert.equal((await client.invokeUnderLoad('echo', '1', 'wasm')).output, '1');
    assert.equal((await client.invokeUnderLoad('echo', '2', 'wasm')).output, '2');
    assert.equal(t.accepted(), 2, 'a new connection after "connection: close"');
    mode = 'then-hang-up';
    assert.equal((await client.invokeUnderLoad('echo', '3', 'wasm')).output, '3');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal((await client.invokeUnderLoad('echo', '4', 'wasm')).output, '4');
    assert.equal(t.accepted(), 4, 'a new connection after the server closed the idle one');
  } finally {
    await client.close();
    t.server.close();
  }
});

test('a server that hangs up mid-answer, or answers with something not HTTP, is unreachable; the next request gets a new connection', async () => {
  let mode: 'cut' | 'garbage' | 'ok' = 'cut';
  const t = await tcpServer((request, socket) => {
    const body = JSON.stringify(answer(bodyOf(request)));
    if (mode === 'cut') socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`);
    else if (mode === 'garbage') socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n');
    else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  const client = new TargetClient(t.url, { connections: 1 });
  try {
    const cut = await errorOf(client.invokeUnderLoad('echo', '1', 'wasm'));
    assert.equal(cut.code, 'unreachable');
    assert.match(cut.message, /other side closed/);
    mode = 'garbage';
    const garbage = await errorOf(client.invokeUnderLoad('echo', '1', 'wasm'));
    assert.equal(garbage.code, 'unreachable');
    assert.match(garbage.message, /not an HTTP\/1\.x answer: "SSH-2\.0/);
    mode = 'ok';
    assert.equal((await client.invokeUnderLoad('echo', '5', 'wasm')).output, '5');
  } finally {
    await client.close();
    t.server.close();
  }
});
