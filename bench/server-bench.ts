/**
 * Performance harness for `nebula serve` (not a test): measures, side by side in one run,
 *   1. server-side startup_us p50 on wasm vs a bare in-process `new WebAssembly.Instance` + `_start`
 *      of the same module (goal ≤ 3×);
 *   2. the HTTP round trip of fibonacci-recursive 1 on wasm over loopback (goal p50 ≤ 1 ms);
 *   3. the component runtime (WASI 0.2), in blocks alternating with wasm's: startup_us p50 vs wasm's
 *      (goal ≤ 5×) and vs its own floor, a bare in-process instantiate + run of the same transpiled
 *      component on this thread, from the call to the guest's nebula-start stamp as startup_us is
 *      (goal ≤ 3×);
 *   4. the docker runtime vs `docker run --rm -i` of the same image (goal ratio ≤ 1.0).
 * Run: node --import tsx bench/server-bench.ts [--n 500] [--docker-n 15] [--no-component]
 * (--no-component: wasm alone, as before the component runtime, for before/after comparisons)
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { TargetClient } from '../src/client/target.js';
import { measureAnchor } from '../src/clock.js';
import { startServer } from '../src/server/index.js';
import { capMemory } from '../src/server/host/wasm-binary.js';
import { OutputBuffer } from '../src/server/host/output-buffer.js';
import { createWasiHost, runInstance } from '../src/server/runtimes/wasm/wasi.js';
import { compileCores, GLUE_FILE, transpileComponent } from '../src/server/runtimes/component/artifact.js';
import { loadComponent, prepareThread, runComponent } from '../src/server/runtimes/component/instance.js';
import { createWasiP2Host } from '../src/server/runtimes/component/wasi-p2.js';
import { median, quantile } from '../src/report/stats.js';
import { buildFixture } from '../test/helpers/fixtures.js';
import { flagArg, numberArg } from './args.js';

const N = numberArg('n', 500);
const DOCKER_N = numberArg('docker-n', 15);
const WITH_COMPONENT = !flagArg('no-component');

const p50 = (xs: number[]): number => median(xs);
const p90 = (xs: number[]): number => quantile(xs, 0.9);
const fmt = (us: number): string => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);

const root = fileURLToPath(new URL('..', import.meta.url));
const fibWasm = join(root, 'functions/fibonacci-recursive/fibonacci-recursive.wasm');
const fibNative = join(root, `functions/fibonacci-recursive/build/fibonacci-recursive-${process.arch}`);
const useFib = existsSync(fibWasm);
const wasmPath = useFib ? fibWasm : await buildFixture('echo', 'wasm');
const nativePath = useFib && existsSync(fibNative) ? fibNative : await buildFixture('echo', 'native');
const wasmBytes = await readFile(wasmPath);
const fibComponent = join(root, 'functions/fibonacci-recursive/fibonacci-recursive.component.wasm');
const componentPath = useFib && existsSync(fibComponent) ? fibComponent : await buildFixture('echo', 'component');
const componentBytes = await readFile(componentPath);
const input = '1';

console.log(`nebula serve bench — node ${process.version}, ${process.arch}, n=${N}, docker n=${DOCKER_N}`);
console.log(`wasm module: ${wasmPath.replace(root, '')} (${useFib ? 'fibonacci-recursive' : 'echo fixture'}), input "${input}"`);

// 1. Bare floor: same capped module, same WASI imports, on this thread.
const module = new WebAssembly.Module(capMemory(wasmBytes, 256));
const anchor = measureAnchor();
const host = createWasiHost(module, {
  realtimeNs: () => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
  monotonicNs: () => process.hrtime.bigint(),
});
const bare: number[] = [];
for (let i = 0; i < N + 50; i++) {
  const call = { stdin: Buffer.from(input), stdinPos: 0, stdout: new OutputBuffer(1 << 20), stderr: new OutputBuffer(1 << 20), memory: undefined };
  const t0 = process.hrtime.bigint();
  runInstance(module, host, call);
  const t1 = process.hrtime.bigint();
  if (i >= 50) bare.push(Number(t1 - t0) / 1000);
}

// 1b. The component's floor: transpiled and compiled by the server's own code, run on this thread
// through the same instance.ts the component worker uses.
const store = await mkdtemp(join(tmpdir(), 'nebula-bench-'));
/** Bare in-process runs of the component: whole calls, and call → guest's nebula-start. */
async function componentFloor(): Promise<{ whole: number[]; start: number[] }> {
  prepareThread();
  const transpiled = await transpileComponent(componentBytes);
  await writeFile(join(store, GLUE_FILE), transpiled.glue);
  const component = await loadComponent(pathToFileURL(join(store, GLUE_FILE)).href, await compileCores(transpiled.cores, 256));
  const p2 = createWasiP2Host({
    realtimeNs: () => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
    monotonicNs: () => process.hrtime.bigint(),
  });
  const whole: number[] = [];
  /** Like the server's startup_us: from the call's start to the guest's own nebula-start stamp. */
  const start: number[] = [];
  const nowRealUs = (): number => anchor.realUs + Number(process.hrtime.bigint() - anchor.monoNs) / 1000;
  for (let i = 0; i < N + 50; i++) {
    const call = { stdin: Buffer.from(input), stdinPos: 0, stdout: new OutputBuffer(1 << 20), stderr: new OutputBuffer(1 << 20) };
    const startUs = nowRealUs();
    const t0 = process.hrtime.bigint();
    const out = await runComponent(component, p2, call);
    const t1 = process.hrtime.bigint();
    if (out.exitCode !== 0) throw new Error(`the component failed on this thread: ${out.error ?? `exit ${out.exitCode}`}`);
    const stamp = /^nebula-start (\d+)$/m.exec(Buffer.from(out.stderr).toString());
    if (!stamp) throw new Error('the component printed no nebula-start line');
    if (i < 50) continue;
    whole.push(Number(t1 - t0) / 1000);
    start.push(Number(stamp[1]) - startUs);
  }
  return { whole, start };
}
const { whole: bareComponent, start: bareComponentStart } = WITH_COMPONENT ? await componentFloor() : { whole: [], start: [] };

// 2. The server, in-process, over loopback.
const server = await startServer({ port: 0, storeDir: store, timeoutMs: 60_000 });
const client = new TargetClient(server.url);
try {
  await client.putArtifact('bench', 'wasm', wasmBytes);
  if (WITH_COMPONENT) await client.putArtifact('bench', 'component', componentBytes);
  const startup: number[] = [];
  const rtt: number[] = [];
  const componentStartup: number[] = [];
  for (let i = 0; i < 50; i++) {
    // warm-up: worker start, glue import, Liftoff → TurboFan tier-up
    await client.invoke('bench', input, 'wasm');
    if (WITH_COMPONENT) await client.invoke('bench', input, 'component');
  }
  // Blocks of BLOCK calls per runtime, alternating, so both see the same machine over the run; the
  // first SETTLE calls of a block are not counted: a component call leaves garbage that the next
  // calls' collections pay for (measured below), which is interference, not start-up.
  const BLOCK = 50;
  const SETTLE = WITH_COMPONENT ? 5 : 0;
  while (startup.length < N) {
    for (let i = 0; i < BLOCK; i++) {
      const t0 = process.hrtime.bigint();
      const r = await client.invoke('bench', input, 'wasm');
      const t1 = process.hrtime.bigint();
      if (i < SETTLE) continue;
      startup.push(r.metrics.startup_us);
      rtt.push(Number(t1 - t0) / 1000);
    }
    for (let i = 0; WITH_COMPONENT && i < BLOCK; i++) {
      const c = await client.invoke('bench', input, 'component');
      if (c.start_source !== 'function') throw new Error('the component printed no nebula-start line');
      if (i >= SETTLE) componentStartup.push(c.metrics.startup_us);
    }
  }
  // Interference: wasm right after a component call vs right after a wasm call.
  const afterComponent: number[] = [];
  const afterWasm: number[] = [];
  for (let i = 0; WITH_COMPONENT && i < N / 2; i++) {
    await client.invoke('bench', input, 'component');
    afterComponent.push((await client.invoke('bench', input, 'wasm')).metrics.startup_us);
    afterWasm.push((await client.invoke('bench', input, 'wasm')).metrics.startup_us);
  }
  const overWasm = p50(componentStartup) / p50(startup);
  const overFloor = p50(componentStartup) / p50(bareComponentStart);
  const ratio = p50(startup) / p50(bare);
  console.log('\n| measure | p50 | p90 | goal |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| bare in-process Instance + _start | ${fmt(p50(bare))} | ${fmt(p90(bare))} | (floor) |`);
  console.log(`| server startup_us (wasm) | ${fmt(p50(startup))} | ${fmt(p90(startup))} | ≤ 3× floor → ${ratio.toFixed(2)}× ${ratio <= 3 ? 'ok' : 'MISSED'} |`);
  console.log(`| HTTP round trip (wasm, loopback, TargetClient) | ${fmt(p50(rtt))} | ${fmt(p90(rtt))} | p50 ≤ 1 ms ${p50(rtt) <= 1000 ? 'ok' : 'MISSED'} |`);
  if (WITH_COMPONENT) {
    console.log(`| bare in-process component instantiate + run (whole call) | ${fmt(p50(bareComponent))} | ${fmt(p90(bareComponent))} | |`);
    console.log(`| bare in-process component, call → guest's nebula-start | ${fmt(p50(bareComponentStart))} | ${fmt(p90(bareComponentStart))} | (component floor) |`);
    console.log(
      `| wasm startup_us right after a component call (interleaved) | ${fmt(p50(afterComponent))} | ${fmt(p90(afterComponent))} | ${(p50(afterComponent) / p50(afterWasm)).toFixed(2)}× right after wasm (${fmt(p50(afterWasm))}) |`,
    );
    console.log(
      `| server startup_us (component) | ${fmt(p50(componentStartup))} | ${fmt(p90(componentStartup))} | ≤ 5× wasm → ${overWasm.toFixed(2)}× ${overWasm <= 5 ? 'ok' : 'MISSED'}; ≤ 3× its floor → ${overFloor.toFixed(2)}× ${overFloor <= 3 ? 'ok' : 'MISSED'} |`,
    );
  }

  // 4. Docker: the server's runtime vs the CLI, interleaved so both see the same machine load.
  if (!server.docker.available) {
    console.log(`\ndocker: skipped (${server.docker.reason})`);
  } else {
    const info = await client.putArtifact('bench', 'native', await readFile(nativePath));
    const image = info.artifacts.docker!.image;
    const ours: number[] = [];
    const ourStartup: number[] = [];
    const cli: number[] = [];
    const dockerRun = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn('docker', ['run', '--rm', '-i', '--network', 'none', image], { stdio: ['pipe', 'ignore', 'ignore'] });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1000) : reject(new Error(`docker run exited ${code}`))));
        child.stdin.end(`${input}\n`);
      });
    await promisify(execFile)('docker', ['version']); // the CLI is on PATH
    await client.invoke('bench', input, 'docker');
    await dockerRun();
    for (let i = 0; i < DOCKER_N; i++) {
      const t0 = process.hrtime.bigint();
      const r = await client.invoke('bench', input, 'docker');
      ours.push(Number(process.hrtime.bigint() - t0) / 1000);
      ourStartup.push(r.metrics.startup_us);
      cli.push(await dockerRun());
    }
    const dratio = p50(ours) / p50(cli);
    console.log(`| docker runtime, HTTP round trip | ${fmt(p50(ours))} | ${fmt(p90(ours))} | ≤ 1.0× docker run → ${dratio.toFixed(2)}× ${dratio <= 1 ? 'ok' : 'MISSED'} |`);
    console.log(`| docker runtime, server startup_us | ${fmt(p50(ourStartup))} | ${fmt(p90(ourStartup))} | |`);
    console.log(`| docker run --rm -i (CLI, wall) | ${fmt(p50(cli))} | ${fmt(p90(cli))} | (baseline) |`);
  }
} finally {
  await client.close();
  await server.close();
  await rm(store, { recursive: true, force: true });
}
