/**
 * Worker thread body of the wasm pool: caches compiled modules by key, creates a fresh instance per
 * call and runs `_start` with in-memory stdio. The main thread can terminate this worker to stop a
 * runaway module. Stamps use the anchor the main thread sends (same CLOCK_MONOTONIC in every thread).
 */
import { parentPort } from 'node:worker_threads';
import { monoToRealUs, type ClockAnchor } from '../clock.js';
import { createWasiHost, OutputBuffer, runInstance, type WasiHost } from './wasi.js';
import type { WorkerReply, WorkerRequest } from './wasm-protocol.js';

const port = parentPort;
if (!port) throw new Error('wasm-worker.ts must run in a worker thread');

let anchor: ClockAnchor | undefined;
const cache = new Map<string, { module: WebAssembly.Module; host: WasiHost }>();

const clocks = {
  realtimeNs: (): bigint => BigInt(anchor!.realUs) * 1000n + (process.hrtime.bigint() - anchor!.monoNs),
  monotonicNs: (): bigint => process.hrtime.bigint(),
};
const nowUs = (): number => monoToRealUs(anchor!, process.hrtime.bigint());

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'anchor') {
    anchor = msg.anchor;
    return;
  }
  if (msg.type === 'forget') {
    cache.delete(msg.key);
    return;
  }
  let entry = cache.get(msg.key);
  if (!entry) {
    if (!msg.module) {
      port.postMessage({ type: 'missing', id: msg.id } satisfies WorkerReply);
      return;
    }
    entry = { module: msg.module, host: createWasiHost(msg.module, clocks) };
    cache.set(msg.key, entry);
  }
  const call = {
    stdin: msg.input,
    stdinPos: 0,
    stdout: new OutputBuffer(msg.maxOutputBytes),
    stderr: new OutputBuffer(msg.maxOutputBytes),
    memory: undefined,
  };
  let readyUs = 0;
  const outcome = runInstance(entry.module, entry.host, call, () => {
    readyUs = nowUs();
  });
  const endedUs = nowUs();
  const stdout = call.stdout.concat();
  const stderr = call.stderr.concat();
  const reply: WorkerReply = {
    type: 'done',
    id: msg.id,
    readyUs: readyUs || endedUs,
    endedUs,
    exitCode: outcome.exitCode,
    stdout,
    stderr,
    truncated: call.stdout.dropped + call.stderr.dropped > 0,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  call.memory = undefined;
  port.postMessage(reply);
});
