/**
 * The body of a WorkerPool worker thread, shared by every in-process runtime: caches artifacts by
 * key, runs one guest per message with the runtime's `GuestHandler`, stamps ready/ended and replies.
 * The main thread can terminate the worker to stop a runaway guest. Stamps use the anchor the main
 * thread sends (same CLOCK_MONOTONIC in every thread).
 *
 * The worker sleeps in Atomics.wait and drains its port with receiveMessageOnPort instead of
 * waiting in its event loop: the main thread's Atomics.notify wakes it in ~6 µs here, where a plain
 * postMessage wake-up took ~30 µs — time that would count into every wasm cold start. A handler may
 * return a promise (an async instantiation); the loop then awaits it, letting the event loop run.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { monoToRealUs, type ClockAnchor } from '../../clock.js';
import type { GuestOutcome, WorkerReply, WorkerRequest } from './worker-protocol.js';

/** The guest clocks a worker serves: the server's anchored realtime clock and CLOCK_MONOTONIC. */
export interface GuestClocks {
  realtimeNs: () => bigint;
  monotonicNs: () => bigint;
}

/** What a runtime supplies to run its guests in a worker. `E` is the cached, per-artifact state. */
export interface GuestHandler<A, E> {
  /** Prepares a posted artifact once per worker (e.g. builds the import object for a module). */
  load(artifact: A): E;
  /** Runs one fresh guest; calls `ready()` right before the guest's own code starts. */
  run(entry: E, input: Uint8Array, maxOutputBytes: number, ready: () => void): GuestOutcome | Promise<GuestOutcome>;
}

/** Serves the pool's messages forever with the handler `create` builds from the worker's clocks. */
export async function serveWorker<A, E>(create: (clocks: GuestClocks) => GuestHandler<A, E>): Promise<never> {
  if (!parentPort) throw new Error('a WorkerPool worker must run in a worker thread');
  const port: MessagePort = parentPort;
  const { control, anchor: initialAnchor } = workerData as { control: SharedArrayBuffer; anchor: ClockAnchor };
  const wake = new Int32Array(control);
  let anchor: ClockAnchor = initialAnchor;
  const cache = new Map<string, E>();
  const handler = create({
    realtimeNs: () => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
    monotonicNs: () => process.hrtime.bigint(),
  });
  const nowUs = (): number => monoToRealUs(anchor, process.hrtime.bigint());

  const reply = (id: number, readyUs: number, outcome: GuestOutcome): void => {
    const endedUs = nowUs();
    port.postMessage({ ...outcome, type: 'done', id, readyUs: readyUs || endedUs, endedUs } satisfies WorkerReply);
  };

  port.postMessage({ type: 'booted' } satisfies WorkerReply);
  for (;;) {
    Atomics.wait(wake, 0, 0);
    Atomics.store(wake, 0, 0);
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
      const msg = next.message as WorkerRequest<A>;
      if (msg.type === 'anchor') {
        anchor = msg.anchor;
        continue;
      }
      if (msg.type === 'forget') {
        cache.delete(msg.key);
        continue;
      }
      let entry = cache.get(msg.key);
      if (entry === undefined) {
        if (msg.artifact === undefined) {
          port.postMessage({ type: 'missing', id: msg.id } satisfies WorkerReply);
          continue;
        }
        entry = handler.load(msg.artifact);
        cache.set(msg.key, entry);
        // An async load (a component's glue import) finishes before the call's timeout starts; a
        // failed one surfaces in `run`.
        if (entry instanceof Promise) await entry.catch(() => undefined);
      }
      // The pool starts the call's timeout at this reply whenever it posted the artifact.
      if (msg.artifact !== undefined) port.postMessage({ type: 'loaded', id: msg.id } satisfies WorkerReply);
      let readyUs = 0;
      const outcome = handler.run(entry, msg.input, msg.maxOutputBytes, () => {
        readyUs = nowUs();
      });
      // Await before reading readyUs: an async handler stamps it after this line starts.
      const settled = outcome instanceof Promise ? await outcome : outcome;
      reply(msg.id, readyUs, settled);
    }
  }
}
