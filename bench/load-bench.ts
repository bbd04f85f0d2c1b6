/**
 * Load-generator harness (not a test): the console's load generator side by side with autocannon (the
 * well-kept Node HTTP benchmarking tool) against the same endpoints, in one run:
 *   1. open loop at --rate req/s for --seconds against a constant-answer endpoint: achieved rate
 *      (goal within 1% of the asked rate) and send lateness p99 (goal ≤ 1 ms); autocannon's
 *      rate-limited mode (`overallRate`) beside it;
 *   2. closed loop of --connections against the same endpoint: the console's throughput as a ratio of
 *      autocannon's (goal ≥ 0.8×), rounds interleaved so both see the same machine;
 *   3. the server's saturation throughput for `fibonacci-recursive 1` on wasm (`nebula serve` in its
 *      own process, driven by autocannon's closed loop) as a ratio of a bare Node HTTP server answering
 *      a constant on the same machine (aim ≥ 0.25×).
 * Every target runs in a child process, so the generators do not share an event loop with it.
 * Run: node --import tsx bench/load-bench.ts [--rate 1000] [--seconds 5] [--connections 10] [--rounds 2] [--server-connections 32]
 *      [--parts open,closed,server]   (which of the three to run; all by default)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { TargetClient } from '../src/client/target.js';
import { nowUs } from '../src/clock.js';
import { Driver } from '../src/console/driver.js';
import { connectionsFor } from '../src/console/load/stages.js';
import { recordRun } from '../src/console/recorder.js';
import { RunDirectory, runIdFor } from '../src/console/run-directory.js';
import { parseSuite } from '../src/console/suite.js';
import type { StageLine } from '../src/protocol/results.js';
import { numberArg, stringArg } from './args.js';

const RATE = numberArg('rate', 1000);
const SECONDS = numberArg('seconds', 5);
const CONNECTIONS = numberArg('connections', 10);
const ROUNDS = numberArg('rounds', 2);
const SERVER_CONNECTIONS = numberArg('server-connections', 32);
const PARTS = new Set(stringArg('parts', 'open,closed,server').split(','));
const root = fileURLToPath(new URL('..', import.meta.url));

/** A bare Node HTTP server answering every request with one constant InvocationResult (and /time). */
const CONSTANT_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ function: 'constant', runtime: 'wasm', input: '1', output: '1', ok: true, exit_code: 0, start_source: 'host',
  metrics: { received_us: 1, ready_us: 1, started_us: 1, ended_us: 2, startup_us: 0, exec_us: 1, total_us: 1 } });
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const text = req.url === '/time' ? JSON.stringify({ epoch_us: Math.round((performance.timeOrigin + performance.now()) * 1000) }) : body;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

/** Starts a child that prints its port on its first stdout line. */
function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    proc.once('error', reject);
    proc.stdout!.once('data', (d: Buffer) => resolve({ proc, port: Number(/\d+/.exec(d.toString())?.[0]) }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The console's load generator as `nebula console` runs it (driver, recorder, run directory), no meter. */
async function consoleStage(url: string, load: string): Promise<StageLine & { cpuUsPerRequest: number; stageCpuUsPerRequest: number }> {
  const suite = parseSuite(`name: load-bench\nruntimes: [wasm]\nload: ${load}\nfunctions:\n  - { name: constant, inputs: [1] }\n`, null);
  const out = await mkdtemp(join(tmpdir(), 'nebula-load-bench-'));
  const client = new TargetClient(url, { connections: connectionsFor(suite.load) ?? 8 });
  try {
    const dir = RunDirectory.create(out, runIdFor(suite.name));
    const driver = new Driver({ suite, client, runId: 'load-bench', health: { ok: true, version: 'bench', arch: process.arch, runtimes: { wasm: true, component: false, docker: false, native: false } }, nowUs, meter: null });
    const recorder = recordRun(driver, dir, null);
    let stage: StageLine | undefined;
    driver.on('stage', (s) => (stage = s));
    // The stage alone (first to last live status): without start-up, warm-up, clock rounds and summary.
    let stageCpu: NodeJS.CpuUsage | undefined;
    let stageUs = 0;
    driver.on('load', (status) => {
      if (!stageCpu) stageCpu = process.cpuUsage();
      else if (status.finished) stageUs = cpuPer(stageCpu, 1);
    });
    const cpu = process.cpuUsage();
    recorder.finish(await driver.run());
    if (!stage) throw new Error('no stage finished');
    return Object.assign(stage, { cpuUsPerRequest: cpuPer(cpu, stage.completed), stageCpuUsPerRequest: stageUs / Math.max(1, stage.sent) });
  } finally {
    await client.close();
    await rm(out, { recursive: true, force: true });
  }
}

/** autocannon against `url` (POST body "1"); returns completed requests per second and latency p99 (ms). */
async function cannon(url: string, options: { connections: number; seconds: number; overallRate?: number }): Promise<{ rps: number; p99Ms: number; errors: number; cpuUsPerRequest: number }> {
  const cpu = process.cpuUsage();
  const result = await autocannon({
    url,
    method: 'POST',
    body: '1',
    connections: options.connections,
    duration: options.seconds,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  return { rps: result.requests.total / (result.duration || options.seconds), p99Ms: result.latency.p99, errors: result.errors + result.non2xx, cpuUsPerRequest: cpuPer(cpu, result.requests.total) };
}

/** CPU time (user + system) this process spent since `since`, per request: the generator's own cost (the whole run, start-up included). */
function cpuPer(since: NodeJS.CpuUsage, requests: number): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / Math.max(1, requests);
}

const f = (x: number, d = 1): string => x.toFixed(d);
const ms = (us: number | null): string => (us === null ? '—' : `${f(us / 1000, 3)} ms`);

console.log(`load bench — node ${process.version}, ${process.arch}, rate ${RATE}/s × ${SECONDS} s, closed loop ${CONNECTIONS} connections, ${ROUNDS} rounds`);
const constant = await child(['-e', CONSTANT_SERVER]);
const constantUrl = `http://127.0.0.1:${constant.port}`;
const invokePath = '/functions/constant/invoke?runtime=wasm';
try {
  // 1. Open loop: schedule accuracy.
  if (PARTS.has('open')) {
    console.log('\n## Open loop against a constant-answer endpoint\n');
    console.log('| round | generator | asked | achieved | achieved / asked | send lateness p50 / p99 / max | latency p99 | generator CPU / request |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (let round = 1; round <= ROUNDS; round++) {
      const s = await consoleStage(constantUrl, `{ rate: ${RATE}, seconds: ${SECONDS}, max_in_flight: 256 }`);
      const good = Math.abs(s.throughput_rps / RATE - 1) <= 0.01 && (s.lateness.p99_us ?? Infinity) <= 1000;
      console.log(`| ${round} | nebula console (open loop) | ${RATE}/s | ${f(s.throughput_rps)}/s (${s.completed} done, ${s.failed} failed, ${s.dropped} dropped) | ${f(s.throughput_rps / RATE, 4)} | ${ms(s.lateness.p50_us)} / ${ms(s.lateness.p99_us)} / ${ms(s.lateness.max_us)} ${good ? '(goals met)' : '(goal MISSED)'} | ${ms(s.latency.p99_us)} from intended | ${f(s.cpuUsPerRequest, 0)} µs; ${f(s.stageCpuUsPerRequest, 0)} µs |`);
      const a = await cannon(`${constantUrl}${invokePath}`, { connections: 100, seconds: SECONDS, overallRate: RATE });
      console.log(`| ${round} | autocannon overallRate | ${RATE}/s | ${f(a.rps)}/s | ${f(a.rps / RATE, 4)} | (not reported) | ${f(a.p99Ms, 3)} ms from actual send | ${f(a.cpuUsPerRequest, 0)} µs |`);
    }
  }

  // 2. Closed loop: throughput against autocannon's.
  if (PARTS.has('closed')) {
    console.log(`\n## Closed loop of ${CONNECTIONS} against the same endpoint\n`);
    console.log('| round | nebula console req/s | autocannon req/s | ratio (goal ≥ 0.8×) | CPU / request: console (run; stage), autocannon |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (let round = 1; round <= ROUNDS; round++) {
      const s = await consoleStage(constantUrl, `{ concurrency: ${CONNECTIONS}, seconds: ${SECONDS} }`);
      const a = await cannon(`${constantUrl}${invokePath}`, { connections: CONNECTIONS, seconds: SECONDS });
      const ratio = s.throughput_rps / a.rps;
      console.log(`| ${round} | ${f(s.throughput_rps)} | ${f(a.rps)} | ${f(ratio, 2)}× ${ratio >= 0.8 ? 'met' : 'MISSED'} | ${f(s.cpuUsPerRequest, 0)}; ${f(s.stageCpuUsPerRequest, 0)} µs, ${f(a.cpuUsPerRequest, 0)} µs |`);
    }
  }

  // 3. Server saturation: fibonacci-recursive 1 on wasm vs the bare constant server, both by autocannon.
  if (PARTS.has('server')) {
    const store = await mkdtemp(join(tmpdir(), 'nebula-load-bench-store-'));
    const port = await freePort();
    const serve = spawn(process.execPath, [join(root, 'bin/nebula.js'), 'serve', '--port', String(port), '--store', store], { stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const client = new TargetClient(`http://127.0.0.1:${port}`);
      for (let i = 0; ; i++) {
        try {
          await client.health();
          break;
        } catch (error) {
          if (i > 100) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await client.putArtifact('fibonacci-recursive', 'wasm', await readFile(join(root, 'functions/fibonacci-recursive/fibonacci-recursive.wasm')));
      const fibUrl = `http://127.0.0.1:${port}/functions/fibonacci-recursive/invoke?runtime=wasm`;
      await cannon(fibUrl, { connections: SERVER_CONNECTIONS, seconds: 1 }); // warm-up: workers, tier-up
      console.log(`\n## Saturation throughput (autocannon closed loop of ${SERVER_CONNECTIONS}, ${SECONDS} s)\n`);
      console.log('| round | nebula serve, fibonacci-recursive 1 on wasm | bare Node HTTP server, constant | ratio (aim ≥ 0.25×) |');
      console.log('| --- | ---: | ---: | ---: |');
      for (let round = 1; round <= ROUNDS; round++) {
        const fib = await cannon(fibUrl, { connections: SERVER_CONNECTIONS, seconds: SECONDS });
        const bare = await cannon(`${constantUrl}${invokePath}`, { connections: SERVER_CONNECTIONS, seconds: SECONDS });
        const ratio = fib.rps / bare.rps;
        console.log(`| ${round} | ${f(fib.rps)} req/s (p99 ${f(fib.p99Ms)} ms, ${fib.errors} errors) | ${f(bare.rps)} req/s (p99 ${f(bare.p99Ms)} ms) | ${f(ratio, 3)}× ${ratio >= 0.25 ? 'met' : 'MISSED'} |`);
      }
      await client.close();
    } finally {
      serve.kill();
      await new Promise((r) => serve.once('exit', r));
      await rm(store, { recursive: true, force: true });
    }
  }
} finally {
  constant.proc.kill();
}
