/**
 * Worker thread body of the wasm pool: caches compiled modules by key, creates a fresh instance per
 * call and runs `_start` with in-memory stdio. The main thread can terminate this worker to stop a
 * runaway module. Stamps use the anchor the main thread sends (same CLOCK_MONOTONIC in every thread).
 *
 * The worker sleeps in Atomics.wait and drains its port with receiveMessageOnPort instead of
 * waiting in its event loop: the main thread's Atomics.notify wakes it in ~6 µs here, where a plain
 * postMessage wake-up took ~30 µs — time that would count into every wasm cold start.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { monoToRealUs, type ClockAnchor } from '../clock.js';
import { createWasiHost, OutputBuffer, runInstance, type WasiHost } from './wasi.js';
import type { WorkerReply, WorkerRequest } from './wasm-protocol.js';

if (!parentPort) throw new Error('wasm-worker.ts must run in a worker thread');
const port: MessagePort = parentPort;

const { control, anchor: initialAnchor } = workerData as { control: SharedArrayBuffer; anchor: ClockAnchor };
const wake = new Int32Array(control);
let anchor: ClockAnchor = initialAnchor;
const cache = new Map<string, { module: WebAssembly.Module; host: WasiHost }>();

const clocks = {
  realtimeNs: (): bigint => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
  monotonicNs: (): bigint => process.hrtime.bigint(),
};
const nowUs = (): number => monoToRealUs(anchor, process.hrtime.bigint());

function handle(msg: WorkerRequest): void {
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
}

for (;;) {
  Atomics.wait(wake, 0, 0);
  Atomics.store(wake, 0, 0);
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) handle(next.message as WorkerRequest);
}
