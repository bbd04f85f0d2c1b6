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
 * In `prewarmed` mode the worker instantiates the next guest of a function right after replying
 * (docs/runtimes.md, "Start modes"): a call then only starts a guest made before it arrived.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { monoToRealUs, type ClockAnchor } from '../../clock.js';
import { MAX_PREPARED_PER_WORKER, type GuestOutcome, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

/** The guest clocks a worker serves: the server's anchored realtime clock and CLOCK_MONOTONIC. */
export interface GuestClocks {
  realtimeNs: () => bigint;
  monotonicNs: () => bigint;
}

/**
 * What a runtime supplies to run its guests in a worker. `E` is the cached, per-artifact state; `P` a
 * fresh guest instantiated ahead and not started (`prewarmed` mode, docs/runtimes.md "Start modes").
 */
export interface GuestHandler<A, E, P> {
  /** Prepares a posted artifact once per worker (e.g. builds the import object for a module). */
  load(artifact: A): E;
  /** Instantiates a fresh guest of `entry` without starting it (throws when it cannot). */
  prepare(entry: E): P | Promise<P>;
  /**
   * Runs one fresh guest — `prepared` when one was instantiated ahead, else a new one; calls
   * `ready()` right before the guest's own code starts.
   */
  run(entry: E, input: Uint8Array, maxOutputBytes: number, ready: () => void, prepared: P | undefined): GuestOutcome | Promise<GuestOutcome>;
}

/** Serves the pool's messages forever with the handler `create` builds from the worker's clocks. */
export async function serveWorker<A, E, P>(create: (clocks: GuestClocks) => GuestHandler<A, E, P>): Promise<never> {
  if (!parentPort) throw new Error('a WorkerPool worker must run in a worker thread');
  const port: MessagePort = parentPort;
  const { control, anchor: initialAnchor } = workerData as { control: SharedArrayBuffer; anchor: ClockAnchor };
  const wake = new Int32Array(control);
  let anchor: ClockAnchor = initialAnchor;
  const cache = new Map<string, E>();
  /** One prepared, never-started guest per key; each is used once and replaced after its call. */
  const prepared = new Map<string, P>();
  const handler = create({
    realtimeNs: () => BigInt(anchor.realUs) * 1000n + (process.hrtime.bigint() - anchor.monoNs),
    monotonicNs: () => process.hrtime.bigint(),
  });
  const nowUs = (): number => monoToRealUs(anchor, process.hrtime.bigint());

  const reply = (id: number, readyUs: number, outcome: GuestOutcome & { prepared?: boolean }): void => {
    const endedUs = nowUs();
    // Object.assign, not a spread followed by properties: a slow path on Node 20 (bench/object-spread.ts).
    port.postMessage(Object.assign({}, outcome, { type: 'done' as const, id, readyUs: readyUs || endedUs, endedUs }) satisfies WorkerReply);
  };

  /**
   * The cached entry of `key`, loading a posted artifact; undefined when neither is here. Wrapped: an
   * async function would unwrap an entry that is itself a promise (a component's glue import).
   */
  const entryOf = async (key: string, artifact: A | undefined): Promise<{ entry: E } | undefined> => {
    let entry = cache.get(key);
    if (entry !== undefined) return { entry };
    if (artifact === undefined) return undefined;
    entry = handler.load(artifact);
    cache.set(key, entry);
    // An async load (a component's glue import) finishes before the call's timeout starts; a
    // failed one surfaces in `run` or `prepare`.
    if (entry instanceof Promise) await entry.catch(() => undefined);
    return { entry };
  };

  /** Prepares the next guest of `key` (unless one is held) and says how it went. */
  const prepareNext = async (key: string, entry: E): Promise<void> => {
    const answer: WorkerReply = { type: 'prepared', key, ok: true };
    if (!prepared.has(key)) {
      try {
        const made = handler.prepare(entry);
        const instance = made instanceof Promise ? await made : made;
        // A forget while it was being made (an async instantiation) leaves it out.
        if (cache.get(key) !== entry) answer.ok = false;
        else {
          prepared.set(key, instance);
          if (prepared.size > MAX_PREPARED_PER_WORKER) {
            const oldest = prepared.keys().next().value as string;
            prepared.delete(oldest);
            answer.dropped = oldest;
          }
        }
      } catch (error) {
        answer.ok = false;
        answer.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    port.postMessage(answer);
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
        prepared.delete(msg.key);
        continue;
      }
      if (msg.type === 'ping') {
        port.postMessage({ type: 'pong' } satisfies WorkerReply);
        continue;
      }
      // A cached entry needs no await: a call's way to `ready` takes no extra promise turn.
      const cached = cache.get(msg.key);
      const held = cached !== undefined ? { entry: cached } : await entryOf(msg.key, msg.artifact);
      if (msg.type === 'prepare') {
        if (held === undefined) port.postMessage({ type: 'prepared', key: msg.key, ok: false, error: 'artifact not held' } satisfies WorkerReply);
        else await prepareNext(msg.key, held.entry);
        continue;
      }
      if (held === undefined) {
        port.postMessage({ type: 'missing', id: msg.id } satisfies WorkerReply);
        continue;
      }
      const { entry } = held;
      // The pool starts the call's timeout at this reply whenever it posted the artifact.
      if (msg.artifact !== undefined) port.postMessage({ type: 'loaded', id: msg.id } satisfies WorkerReply);
      // A cold call leaves the prepared instance for the next prewarmed one.
      const instance = msg.prewarmed ? prepared.get(msg.key) : undefined;
      if (msg.prewarmed) prepared.delete(msg.key);
      let readyUs = 0;
      const outcome = handler.run(
        entry,
        msg.input,
        msg.maxOutputBytes,
        () => {
          readyUs = nowUs();
        },
        instance,
      );
      // Await before reading readyUs: an async handler stamps it after this line starts.
      const settled = outcome instanceof Promise ? await outcome : outcome;
      if (instance !== undefined) (settled as GuestOutcome & { prepared?: boolean }).prepared = true;
      reply(msg.id, readyUs, settled);
      // The next call's instance is made now, after the reply, off any request's path.
      if (msg.prewarmed) await prepareNext(msg.key, entry);
    }
  }
}
