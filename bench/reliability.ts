/**
 * Reliability harness for `nebula serve` (not a test; docs/reliability.md). Starts a real server as a
 * child process on 127.0.0.1 (with `ulimit -n` lowered so descriptor exhaustion is reachable with a
 * bounded number of sockets) and attacks it, one scenario at a time, while a prober checks that a
 * normal client is still served. Each scenario prints what held and what failed:
 *
 *   slow-headers  N connections that send half a request line and wait
 *   slow-body     one client sending its body at 1 byte per `--drip-s` seconds: how long is it kept?
 *   nested-json   one unauthenticated 1 MB nested JSON to /invoke_function: the event loop stall
 *   uploads       8 concurrent 200 MB uploads of garbage (refused by their first bytes): peak RSS, the stall
 *   valid-uploads 8 concurrent 200 MB uploads of a valid static ELF (padded): stored; peak RSS, the stall
 *   overload      200 closed-loop clients on fibonacci-recursive 1 (wasm): ok/s and the 503 share
 *   soak          N invocations over 4 connections: failures and RSS before/after
 *
 * Run: node --import tsx bench/reliability.ts [--only slow-headers,overload] [--bin bin/nebula.js]
 *      [--connections 5000] [--nofile 4096] [--seconds 20] [--soak 20000]
 * `--bin` may point at another checkout's bin/nebula.js (a before/after comparison in one sitting).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantile } from '../src/report/stats.js';
import { numberArg, stringArg } from './args.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = resolve(stringArg('bin', join(root, 'bin/nebula.js')));
const ONLY = stringArg('only', 'slow-headers,slow-body,nested-json,uploads,valid-uploads,overload,soak').split(',');
const CONNECTIONS = numberArg('connections', 5000);
const NOFILE = numberArg('nofile', 4096);
const SECONDS = numberArg('seconds', 20);
const SOAK = numberArg('soak', 20_000);
const DRIP_S = numberArg('drip-s', 10);
const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  port: number;
  store: string;
  stop(): Promise<void>;
}

async function startServer(extra: string[] = []): Promise<Server> {
  const store = await mkdtemp(join(tmpdir(), 'nebula-rel-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const cmd = `ulimit -n ${NOFILE}; exec node ${BIN} serve --host ${HOST} --port ${port} --store ${store} ${extra.join(' ')}`;
  const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  for (let i = 0; i < 200 && !log.includes('listening'); i++) await sleep(50);
  if (!log.includes('listening')) throw new Error(`server did not start: ${log}`);
  return {
    child,
    port,
    store,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(store, { recursive: true, force: true });
    },
  };
}

interface Reply {
  status: number;
  body: string;
  ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function call(port: number, method: string, path: string, body?: Buffer | string, opts: { timeoutMs?: number; fresh?: boolean } = {}): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolveReply) => {
    const req = request({ host: HOST, port, method, path, agent: opts.fresh ? false : agent, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveReply({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', () => resolveReply({ status: -1, body: '', ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolveReply({ status: -1, body: e.message, ms: performance.now() - t0 }));
    req.end(body);
  });
}

async function deployFib(port: number): Promise<void> {
  const bytes = await readFile(join(root, 'functions/fibonacci-recursive/fibonacci-recursive.wasm'));
  const r = await call(port, 'PUT', '/functions/fib/wasm', bytes);
  if (r.status !== 200) throw new Error(`deploy failed: ${r.status} ${r.body}`);
}

/** A normal client: one fresh connection + one invocation every `everyMs`, until stopped. */
function prober(port: number, everyMs = 250): { stop(): Promise<{ ok: number; failed: number; maxMs: number; p99Ms: number }> } {
  let running = true;
  const times: number[] = [];
  let ok = 0;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      const r = await call(port, 'POST', '/functions/fib/invoke', '1', { timeoutMs: 2000, fresh: true });
      times.push(r.ms);
      if (r.status === 200) ok++;
      else failed++;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failed, maxMs: Math.max(0, ...times), p99Ms: quantile(times, 0.99) };
    },
  };
}

/** The server's peak and current RSS from /proc (VmHWM, VmRSS), in MB. */
async function rss(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peak: Math.round(kb('VmHWM') / 1024), now: Math.round(kb('VmRSS') / 1024) };
}

function report(name: string, line: string): void {
  console.log(`${name.padEnd(13)} ${line}`);
}

async function slowHeaders(s: Server): Promise<void> {
  const sockets: Socket[] = [];
  let opened = 0;
  let refused = 0;
  const probe = prober(s.port);
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = connect(s.port, HOST);
    socket.on('error', () => refused++);
    socket.resume(); // read (and drop) what the server answers, so its close is seen
    socket.on('connect', () => {
      opened++;
      socket.write('POST /functions/fib/invoke HTTP/1.1\r\nHost: x\r\n');
    });
    sockets.push(socket);
    if (i % 200 === 0) await sleep(10);
  }
  await sleep(SECONDS * 1000);
  const alive = sockets.filter((x) => !x.destroyed && x.readyState === 'open').length;
  const p = await probe.stop();
  sockets.forEach((x) => x.destroy());
  report('slow-headers', `${CONNECTIONS} slow connections (nofile ${NOFILE}), ${opened} opened, ${refused} reset, ${alive} still open after ${SECONDS} s; probes held ${p.ok}, failed ${p.failed}, max ${p.maxMs.toFixed(0)} ms`);
}

async function slowBody(s: Server): Promise<void> {
  const started = performance.now();
  const limitS = Math.max(SECONDS * 3, 60);
  const socket = connect(s.port, HOST);
  socket.on('error', () => undefined);
  socket.on('connect', () => socket.write('POST /functions/fib/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n'));
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const drip = setInterval(() => socket.writable && socket.write('1'), DRIP_S * 1000);
  await Promise.race([closed, sleep(limitS * 1000)]);
  clearInterval(drip);
  const heldS = (performance.now() - started) / 1000;
  const status = /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 'none';
  const outcome = socket.destroyed ? `closed by the server after ${heldS.toFixed(1)} s (status ${status})` : `still open after ${limitS} s (failed)`;
  socket.destroy();
  report('slow-body', `1 byte per ${DRIP_S} s: ${outcome}`);
}

async function nestedJson(s: Server): Promise<void> {
  const depth = 500_000;
  const body = `{"function_name":"fib","input":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const probe = prober(s.port, 20);
  await sleep(300);
  const r = await call(s.port, 'POST', '/invoke_function', body, { timeoutMs: 30_000 });
  await sleep(500);
  const p = await probe.stop();
  report('nested-json', `${(body.length / 1e6).toFixed(1)} MB nested JSON → ${r.status} in ${r.ms.toFixed(0)} ms; probes held ${p.ok}, failed ${p.failed}, max ${p.maxMs.toFixed(0)} ms`);
}

/** 8 concurrent 200 MB PUT native, each starting with `head` (then zeros); RSS and probes around them. */
async function eightUploads(s: Server, scenario: string, head: Buffer): Promise<void> {
  const size = 200 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, head.length ? 0 : 0x41);
  const before = await rss(s.child.pid!);
  const probe = prober(s.port, 50);
  const statuses = await Promise.all(
    Array.from({ length: 8 }, (_, i) => {
      return new Promise<number>((done) => {
        const req = request({ host: HOST, port: s.port, method: 'PUT', path: `/functions/up${i}/native`, agent: false, headers: { 'content-length': size } }, (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', () => done(-1));
        req.write(head);
        let sent = head.length;
        const pump = (): void => {
          while (sent < size) {
            const next = chunk.subarray(0, Math.min(chunk.length, size - sent));
            sent += next.length;
            if (!req.write(next)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
    }),
  );
  const p = await probe.stop();
  const after = await rss(s.child.pid!);
  await sleep(2000);
  const settled = await rss(s.child.pid!);
  report(scenario, `8 × 200 MB PUT native → ${statuses.join(',')}; RSS ${before.now} → peak ${after.peak} MB, ${settled.now} MB 2 s later; probes held ${p.ok}, failed ${p.failed}, max ${p.maxMs.toFixed(0)} ms`);
}

async function uploads(s: Server): Promise<void> {
  await eightUploads(s, 'uploads', Buffer.alloc(0));
}

/** A static ELF stays valid with bytes appended: the bundled native fibonacci, padded to 200 MB. */
async function validUploads(s: Server): Promise<void> {
  const elf = await readFile(join(root, `functions/fibonacci-recursive/build/fibonacci-recursive-${process.arch}`));
  await eightUploads(s, 'valid-uploads', elf);
}

async function overload(s: Server): Promise<void> {
  const clients = 200;
  const seconds = Math.min(SECONDS, 15);
  const pool = new Agent({ keepAlive: true, maxSockets: clients });
  const counts = new Map<number, number>();
  const okMs: number[] = [];
  let running = true;
  const one = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now();
      const status = await new Promise<number>((done) => {
        const req = request({ host: HOST, port: s.port, method: 'POST', path: '/functions/fib/invoke', agent: pool }, (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        });
        req.on('error', () => done(-1));
        req.end('1');
      });
      counts.set(status, (counts.get(status) ?? 0) + 1);
      if (status === 200) okMs.push(performance.now() - t0);
    }
  };
  const loops = Array.from({ length: clients }, one);
  await sleep(seconds * 1000);
  running = false;
  await Promise.all(loops);
  pool.destroy();
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const ok = counts.get(200) ?? 0;
  const busy = counts.get(503) ?? 0;
  report(
    'overload',
    `${clients} clients × ${seconds} s: ${(ok / seconds).toFixed(0)} ok/s, ${((100 * busy) / Math.max(1, total)).toFixed(1)} % 503, other ${total - ok - busy}; ok latency p50 ${quantile(okMs, 0.5).toFixed(0)} ms p99 ${quantile(okMs, 0.99).toFixed(0)} ms`,
  );
}

async function soak(s: Server): Promise<void> {
  const before = await rss(s.child.pid!);
  let ok = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < SOAK) {
        const r = await call(s.port, 'POST', '/functions/fib/invoke', String(next % 20));
        if (r.status === 200 && r.body.includes('"ok":true')) ok++;
        else failed++;
      }
    }),
  );
  const after = await rss(s.child.pid!);
  report('soak', `${SOAK} invocations: held ${ok}, failed ${failed}; RSS ${before.now} → ${after.now} MB (peak ${after.peak} MB)`);
}

const SCENARIOS: Record<string, { run: (s: Server) => Promise<void>; flags?: string[] }> = {
  'slow-headers': { run: slowHeaders },
  'slow-body': { run: slowBody },
  'nested-json': { run: nestedJson },
  uploads: { run: uploads },
  // No engine: what is measured is receiving and storing, not eight 200 MB image builds.
  'valid-uploads': { run: validUploads, flags: ['--docker-socket', '/nonexistent/docker.sock'] },
  overload: { run: overload },
  soak: { run: soak },
};

console.log(`nebula serve reliability — ${BIN.replace(root, '')}, node ${process.version}, 127.0.0.1`);
for (const name of ONLY) {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`--only: unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  const server = await startServer(scenario.flags);
  try {
    await deployFib(server.port);
    await scenario.run(server);
    const still = await call(server.port, 'POST', '/functions/fib/invoke', '10', { fresh: true });
    if (still.status !== 200) report(name, `afterwards: a normal invocation got ${still.status} (failed)`);
  } finally {
    await server.stop();
  }
}
agent.destroy();
