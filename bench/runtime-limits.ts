/**
 * Replays the runtime attacks of docs/reliability.md ("Runtime limits") against a real server on
 * 127.0.0.1 and prints what held: abandoned calls, a native function that escapes with setsid(),
 * a wasm table bomb, a 1 GiB memory hog at a 64 MiB cap on every runtime. Run it from a checkout of any commit to compare (the functions are the test
 * fixtures, built with clang/gcc):
 *
 *   node --import tsx bench/runtime-limits.ts [--only abandoned|setsid|tables|memory]
 */
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/index.js';
import { fixtureBytes } from '../test/helpers/fixtures.js';
import { tableBomb } from '../test/helpers/wasm-attacks.js';

interface Reply {
  status: number;
  ms: number;
  body: string;
}

function call(base: string, method: string, path: string, body: Uint8Array | string, hangUpMs?: number): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: -1, ms: performance.now() - t0, body: '' }));
    });
    req.on('error', () => resolve({ status: -1, ms: performance.now() - t0, body: '' }));
    req.end(body);
    if (hangUpMs !== undefined) setTimeout(() => req.destroy(), hangUpMs);
  });
}

async function withServer<T>(
  options: { timeoutMs: number; workers?: number; maxMemoryMb?: number; docker?: boolean },
  fn: (url: string, close: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const storeDir = await mkdtemp(join(tmpdir(), 'nebula-bench-'));
  const server = await startServer({
    storeDir,
    port: 0,
    docker: options.docker ?? false,
    workers: options.workers ?? 2,
    timeoutMs: options.timeoutMs,
    ...(options.maxMemoryMb ? { maxMemoryMb: options.maxMemoryMb } : {}),
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) await server.close();
    closed = true;
  };
  try {
    return await fn(server.url, close);
  } finally {
    await close();
    await rm(storeDir, { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 66 clients start a never-ending wasm call and hang up after 200 ms; a probe calls echo every 100 ms for 15 s. */
async function abandoned(): Promise<void> {
  await withServer({ timeoutMs: 3000 }, async (url) => {
    await call(url, 'PUT', '/functions/bl-loop/wasm', await fixtureBytes('loop', 'wasm'));
    await call(url, 'PUT', '/functions/bl-echo/wasm', await fixtureBytes('echo', 'wasm'));
    await Promise.all(Array.from({ length: 66 }, () => call(url, 'POST', '/functions/bl-loop/invoke?runtime=wasm', '1', 200)));
    let ok = 0;
    let busy = 0;
    let stalled = 0;
    let lastBad = 0;
    const start = performance.now();
    while (performance.now() - start < 15_000) {
      const r = await call(url, 'POST', '/functions/bl-echo/invoke?runtime=wasm', 'x');
      if (r.status === 200 && r.ms < 1000) ok++;
      else {
        if (r.status === 200) stalled++;
        else busy++;
        lastBad = performance.now() - start;
      }
      await sleep(100);
    }
    console.log(`abandoned: 66 clients hung up after 200 ms; probes over 15 s: ${ok} ok, ${busy} non-200, ${stalled} slower than 1 s; last bad probe at ${(lastBad / 1000).toFixed(1)} s`);
  });
}

/** A native function whose child leaves with setsid(): reply time, the hanging variant, and shutdown. */
async function setsid(): Promise<void> {
  await withServer({ timeoutMs: 3000 }, async (url, close) => {
    await call(url, 'PUT', '/functions/bl-setsid/native', await fixtureBytes('setsid', 'native'));
    const quick = await call(url, 'POST', '/functions/bl-setsid/invoke?runtime=native', 'x');
    const hang = await call(url, 'POST', '/functions/bl-setsid/invoke?runtime=native', 'hang');
    const escaped = [quick, hang].map((r) => Number(/"output":"(\d+)/.exec(r.body)?.[1] ?? /^(\d+)/.exec(r.body)?.[1] ?? 0)).filter((p) => p > 0);
    void call(url, 'POST', '/functions/bl-setsid/invoke?runtime=native', 'hang');
    await sleep(300);
    const t0 = performance.now();
    await close();
    const shutdownMs = performance.now() - t0;
    await sleep(500);
    const alive = escaped.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    console.log(
      `setsid: quick call ${quick.status} after ${quick.ms.toFixed(0)} ms; hanging call ${hang.status} after ${hang.ms.toFixed(0)} ms (timeout 3000); ` +
        `shutdown with a call in flight took ${shutdownMs.toFixed(0)} ms; escaped children still alive: ${alive.length} of ${escaped.length}`,
    );
  });
}

/** 200 tables, each grown by 10M entries: the server's fate and RSS. */
async function tables(): Promise<void> {
  await withServer({ timeoutMs: 3000 }, async (url) => {
    await call(url, 'PUT', '/functions/bl-echo/wasm', await fixtureBytes('echo', 'wasm'));
    const put = await call(url, 'PUT', '/functions/bl-bomb/wasm', tableBomb(200, 10_000_000));
    const rss0 = process.memoryUsage().rss;
    const r = await call(url, 'POST', '/functions/bl-bomb/invoke?runtime=wasm', '');
    const probe = await call(url, 'POST', '/functions/bl-echo/invoke?runtime=wasm', 'x');
    console.log(
      `tables: deploy ${put.status}; invoke ${r.status} ${r.body.slice(0, 100)}; probe ${probe.status}; RSS ${(rss0 / 2 ** 20).toFixed(0)} → ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );
  });
}

/** A hog that allocates and touches 1 GiB in 1 MiB blocks, at a 64 MiB cap, on each runtime (docker when an engine answers). */
async function memory(): Promise<void> {
  await withServer({ timeoutMs: 30_000, maxMemoryMb: 64, docker: true }, async (url) => {
    await call(url, 'PUT', '/functions/bl-hog/wasm', await fixtureBytes('hog', 'wasm'));
    await call(url, 'PUT', '/functions/bl-hog/native', await fixtureBytes('hog', 'native'));
    await call(url, 'PUT', '/functions/bl-echo/native', await fixtureBytes('echo', 'native'));
    for (const runtime of ['wasm', 'native', 'docker']) {
      const r = await call(url, 'POST', `/functions/bl-hog/invoke?runtime=${runtime}`, '1024');
      const result = (r.status === 200 ? JSON.parse(r.body) : {}) as { ok?: boolean; error?: string; output?: string; stderr?: string };
      const held = /held (\d+) MiB/.exec(result.output ?? '')?.[1] ?? /after (\d+) MiB/.exec(result.stderr ?? '')?.[1] ?? '?';
      const probe = await call(url, 'POST', `/functions/bl-echo/invoke?runtime=${runtime === 'wasm' ? 'native' : runtime}`, 'x');
      console.log(`memory ${runtime}: ${r.status} ok:${result.ok} held ${held} MiB; error ${r.status === 200 ? JSON.stringify(result.error ?? '-') : r.body.slice(0, 120)}; next call ${probe.status}`);
    }
    await call(url, 'DELETE', '/functions/bl-hog', '');
    await call(url, 'DELETE', '/functions/bl-echo', '');
  });
}

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
for (const [name, scenario] of Object.entries({ abandoned, setsid, tables, memory })) {
  if (!only || only === name) await scenario();
}
