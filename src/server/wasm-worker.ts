/**
 * Worker thread body of the wasm pool: caches compiled modules by key, creates a fresh instance per
 * call and runs `_start` with in-memory stdio. The main thread can terminate this worker to stop a
 * runaway module. Stamps use the anchor the main thread sends (same CLOCK_MONOTONIC in every thread).
 *
 * The worker sleeps in Atomics.wait and drains its port with receiveMessageOnPort instead of
 * waiting in its event loop: the main thread's Atomics.notify wakes it in ~6 µs here, where a plain
 * postMessage wake-up took ~30 µs — time that would count into every wasm cold start.
 *
 * A job arrives (`prepare`) before its request body has been read: the worker instantiates while
 * the main thread reads the body, then waits for the `input` message (or an `abort`) between
 * instantiation and `_start` — the guest reads stdin only from `_start` on. `ready_us` is stamped
 * once both the instance and the input are there, right before `_start`.
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
const EMPTY = new Uint8Array(0);

/** Thrown out of runInstance's ready hook to drop an instance whose job was aborted. */
const ABORTED = Symbol('aborted');

const clocks = {
  realtimeNs: (): bigint => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
  monotonicNs: (): bigint => process.hrtime.bigint(),
};
const nowUs = (): number => monoToRealUs(anchor, process.hrtime.bigint());

/**
 * The next message, sleeping until there is one. The flag is cleared BEFORE the port is checked and
 * the main thread posts BEFORE it sets the flag, so a message posted after the check finds the flag
 * set (or its notify wakes the wait): no lost wake-ups. Sleeping costs no CPU while idle.
 */
function nextMessage(): WorkerRequest {
  for (;;) {
    Atomics.store(wake, 0, 0);
    const next = receiveMessageOnPort(port);
    if (next) return next.message as WorkerRequest;
    Atomics.wait(wake, 0, 0);
  }
}

/** Blocks until job `id`'s input arrives (returned) or it is aborted (undefined). */
function awaitInput(id: number): Uint8Array | undefined {
  for (;;) {
    const msg = nextMessage();
    if (msg.type === 'input' && msg.id === id) return msg.input;
    if (msg.type === 'abort' && msg.id === id) return undefined;
    // anchor/forget apply as usual; the pool sends no other job's prepare to a busy worker.
    if (msg.type === 'anchor' || msg.type === 'forget') handle(msg);
  }
}

function run(msg: Extract<WorkerRequest, { type: 'prepare' }>): void {
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
    stdin: msg.input ?? EMPTY,
    stdinPos: 0,
    stdout: new OutputBuffer(msg.maxOutputBytes),
    stderr: new OutputBuffer(msg.maxOutputBytes),
    memory: undefined,
  };
  let readyUs = 0;
  let aborted = false;
  // runInstance calls this between instantiation and `_start`: the one place to wait for the input.
  const outcome = runInstance(entry.module, entry.host, call, () => {
    if (!msg.input) {
      const input = awaitInput(msg.id);
      if (!input) {
        aborted = true;
        throw ABORTED;
      }
      call.stdin = input;
    }
    readyUs = nowUs();
  });
  call.memory = undefined;
  if (aborted) return; // the pool freed this worker when it sent the abort: no reply
  const endedUs = nowUs();
  const reply: WorkerReply = {
    type: 'done',
    id: msg.id,
    readyUs: readyUs || endedUs,
    endedUs,
    exitCode: outcome.exitCode,
    stdout: call.stdout.concat(),
    stderr: call.stderr.concat(),
    truncated: call.stdout.dropped + call.stderr.dropped > 0,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  port.postMessage(reply);
}

function handle(msg: WorkerRequest): void {
  switch (msg.type) {
    case 'anchor':
      anchor = msg.anchor;
      return;
    case 'forget':
      cache.delete(msg.key);
      return;
    case 'prepare':
      run(msg);
      return;
    case 'input':
    case 'abort':
      // Stale: for a job this worker answered 'missing' to, or one already dropped.
      return;
  }
}

for (;;) handle(nextMessage());
