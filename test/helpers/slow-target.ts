/**
 * A deliberately slow target on 127.0.0.1: answers `nebula serve`'s /time and invoke routes, but
 * serves invocations one at a time, each taking `serviceMs` — so requests arriving faster than that
 * queue up. It counts how many were outstanding at once.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nowUs } from '../../src/clock.js';

export interface SlowTarget {
  url: string;
  /** The most invocations received and not yet answered at any moment. */
  maxOutstanding: () => number;
  close(): Promise<void>;
}

export async function startSlowTarget(serviceMs: number): Promise<SlowTarget> {
  const queue: { res: ServerResponse; name: string; input: string; received: number }[] = [];
  let busy = false;
  let outstanding = 0;
  let maxOutstanding = 0;
  const next = (): void => {
    const job = queue.shift();
    if (!job) {
      busy = false;
      return;
    }
    busy = true;
    const started = nowUs();
    setTimeout(() => {
      const ended = nowUs();
      const result = {
        function: job.name,
        runtime: 'wasm',
        input: job.input,
        output: 'ok',
        ok: true,
        exit_code: 0,
        start_source: 'host',
        metrics: { received_us: job.received, ready_us: started, started_us: started, ended_us: ended, startup_us: started - job.received, exec_us: ended - started, total_us: ended - job.received },
      };
      outstanding--;
      job.res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      next();
    }, serviceMs);
  };
  const server = createServer((req, res) => {
    const received = nowUs();
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname === '/time') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ epoch_us: nowUs() }));
        return;
      }
      const m = /^\/functions\/([^/]+)\/invoke$/.exec(url.pathname);
      if (!m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not-found', message: url.pathname } }));
        return;
      }
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      queue.push({ res, name: m[1]!, input: Buffer.concat(chunks).toString(), received });
      if (!busy) next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    maxOutstanding: () => maxOutstanding,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
