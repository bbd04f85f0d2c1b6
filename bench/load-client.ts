/**
 * What one request costs the console's HTTP client (not a test): closed loops of --connections against
 * a bare Node server answering one constant InvocationResult (a child process), each for --seconds, in
 * one run, rounds interleaved:
 *   - TargetClient.invoke as the load generator calls it (undici `dispatch`, answer checked);
 *   - undici `request()` + `body.text()` + zod, as the client did before (docs/performance.md);
 *   - a raw socket writing one prebuilt request and waiting for its answer — what autocannon does —
 *     as the floor: no header building, no parser callbacks, no check.
 * Prints requests per second and this process's CPU time per request (user + system).
 * Run: node --import tsx bench/load-client.ts [--seconds 3] [--connections 10] [--rounds 2]
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Pool } from 'undici';
import { TargetClient } from '../src/client/target.js';
import { InvocationResultSchema } from '../src/protocol/api.js';
import { numberArg } from './args.js';

const SECONDS = numberArg('seconds', 3);
const CONNECTIONS = numberArg('connections', 10);
const ROUNDS = numberArg('rounds', 2);

const SERVER = `
const body = JSON.stringify({ function: 'constant', runtime: 'wasm', input: '1', output: '1', ok: true, exit_code: 0, start_source: 'host',
  metrics: { received_us: 1, ready_us: 1, started_us: 1, ended_us: 2, startup_us: 0, exec_us: 1, total_us: 1 } });
require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(Number(/\d+/.exec(d.toString())?.[0]))));
const origin = `http://127.0.0.1:${port}`;
const path = '/functions/constant/invoke?runtime=wasm';

/** `CONNECTIONS` workers, each sending its next request when its previous one returned, for SECONDS. */
async function closedLoop(name: string, one: (worker: number) => Promise<unknown>): Promise<void> {
  // Warm-up (not counted): tier-up of the path under test and its connections opened.
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, w) => { for (let i = 0; i < 300; i++) await one(w); }));
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, w) => {
      while (performance.now() < end) {
        await one(w);
        n++;
      }
    }),
  );
  const d = process.cpuUsage(cpu);
  const s = (performance.now() - t0) / 1000;
  console.log(`| ${name} | ${(n / s).toFixed(0)} | ${((d.user + d.system) / n).toFixed(1)} µs (user ${(d.user / n).toFixed(1)}, system ${(d.system / n).toFixed(1)}) |`);
}

/** One keep-alive socket per worker; an answer is complete when its Content-Length bytes of body are in. */
async function rawSockets(): Promise<{ send: (w: number) => Promise<void>; close: () => void }> {
  const request = Buffer.from(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/octet-stream\r\ncontent-length: 1\r\n\r\n1`);
  const sockets: Socket[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise<Socket>((r) => { const s = connect(port, '127.0.0.1', () => r(s)); })));
  const waiting: Array<(() => void) | null> = sockets.map(() => null);
  sockets.forEach((s, w) => {
    let buffered = '';
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const head = buffered.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? NaN);
      if (head >= 0 && buffered.length >= head + 4 + length) {
        buffered = '';
        waiting[w]?.();
      }
    });
  });
  return {
    send: (w) => new Promise<void>((resolve) => { waiting[w] = resolve; sockets[w]!.write(request); }),
    close: () => sockets.forEach((s) => s.destroy()),
  };
}

console.log(`load client bench — node ${process.version}, closed loops of ${CONNECTIONS} × ${SECONDS} s, ${ROUNDS} rounds\n`);
console.log('| client | req/s | CPU / request |');
console.log('| --- | ---: | ---: |');
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const client = new TargetClient(origin, { connections: CONNECTIONS });
    await closedLoop('TargetClient.invoke (undici dispatch, answer checked)', () => client.invoke('constant', '1', 'wasm'));
    await client.close();

    const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
    const body = Buffer.from('1');
    await closedLoop('undici request() + body.text() + zod', async () => {
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/octet-stream' }, body });
      return InvocationResultSchema.parse(JSON.parse(await res.body.text()));
    });
    await pool.close();

    const raw = await rawSockets();
    await closedLoop('raw socket, prebuilt request (the floor)', (w) => raw.send(w));
    raw.close();
  }
} finally {
  server.kill();
}
