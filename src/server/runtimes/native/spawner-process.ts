/**
 * The spawner: a small long-lived process that starts every native call on the server's behalf
 * (./spawner.ts says why). It runs each call with ./launch.ts, stamps with the server's clock anchor
 * (hrtime is the same CLOCK_MONOTONIC in every process), and answers over the IPC channel
 * (./spawner-protocol.ts). It outlives no server: when the channel closes — the server exited, even by
 * SIGKILL — it kills every process its calls left and exits. Terminal signals are the server's to
 * act on (it asks for `close`), so a Ctrl-C reaching the whole process group cannot orphan a call.
 */
import { RealtimeClock } from '../../../clock.js';
import { RuntimeError } from '../../host/errors.js';
import { ProcessTrees } from '../../host/process-tree.js';
import { launch, type Launch, type LaunchContext } from './launch.js';
import type { FromSpawner, ToSpawner } from './spawner-protocol.js';

const send = (message: FromSpawner): void => {
  process.send?.(message);
};

const launches = new Map<number, Launch>();
let ctx: LaunchContext | undefined;
let clock: RealtimeClock | undefined;
let hunting = 0;
let closing: Promise<void> | undefined;

/** Stops every call, kills what any call left, once. */
function shutDown(): Promise<void> {
  closing ??= (async () => {
    for (const l of launches.values()) l.stop('shutting-down');
    await Promise.allSettled([...launches.values()].map((l) => l.outcome));
    await ctx?.trees.killAll();
  })();
  return closing;
}

function answer(id: number, l: Launch, run: Promise<unknown>): void {
  run.then(
    (r) => send({ type: 'done', id, run: r as never }),
    (error: unknown) => {
      const e = error instanceof RuntimeError ? error : new RuntimeError('failed', String(error));
      send({ type: 'done', id, error: { kind: e.kind, message: e.message, code: e.code } });
    },
  );
  void l.outcome.finally(() => launches.delete(id)).catch(() => undefined);
}

process.on('message', (message: ToSpawner) => {
  switch (message.type) {
    case 'init': {
      clock = new RealtimeClock(message.anchor);
      const trees = new ProcessTrees(message.cgroups);
      ctx = {
        clock,
        trees,
        cap: message.cap,
        hunting(delta) {
          hunting += delta;
          send({ type: 'background', n: hunting });
        },
      };
      send({ type: 'ready', containment: { mode: trees.mode, memoryCap: trees.memoryCap }, treePrefix: trees.prefix });
      return;
    }
    case 'anchor':
      clock?.setAnchor(message.anchor);
      return;
    case 'launch': {
      if (!ctx || closing) {
        send({ type: 'done', id: message.id, error: { kind: 'shutting-down', message: 'the server is shutting down', code: 'shutting-down' } });
        return;
      }
      const l = launch(ctx, message.path, message.limits);
      launches.set(message.id, l);
      answer(message.id, l, message.input ? l.go(message.input, false) : l.outcome);
      return;
    }
    case 'go':
      void launches.get(message.id)?.go(message.input, true);
      return;
    case 'stop':
      launches.get(message.id)?.stop(message.why);
      return;
    case 'close':
      void shutDown().then(() => {
        send({ type: 'closed' });
        process.disconnect?.();
      });
      return;
  }
});

process.on('disconnect', () => {
  void shutDown().then(() => process.exit(0));
});
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void shutDown().then(() => process.exit(0)));
