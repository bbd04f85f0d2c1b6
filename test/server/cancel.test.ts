import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { fixtureBytes } from '../helpers/fixtures.js';
import { containersLabelled, requireDockerOrSkip } from '../helpers/docker.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Sends an invocation and hangs up after `ms` without reading any reply. */
function abandon(base: string, path: string, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end('1');
    setTimeout(() => req.destroy(), ms);
  });
}

/** The server's count of invocations of `name` on `runtime` cancelled because their client went away. */
async function cancelledCount(t: TestServer, name: string, runtime: string): Promise<number> {
  const metrics = (await rawRequest(t.url, 'GET', '/metrics')).text;
  const line = metrics.split('\n').find((l) => l.startsWith(`nebula_invocation_errors_total{function="${name}",runtime="${runtime}",reason="cancelled"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * One slot, a queue of `queue`: `queue + 1` clients start a function that never ends and hang up after
 * 200 ms. Without cancellation the slot stays taken until the (60 s) timeout and the full queue
 * answers the next call 503; with it, every abandoned call is dropped or stopped and the next call runs.
 */
async function abandonedCallsFreeTheRuntime(c: TestContext, runtime: 'wasm' | 'native' | 'docker', name: string, queue: number): Promise<void> {
  const t = await startTestServer({ workers: 1, maxProcesses: 1, maxContainers: 1, queueLimit: queue, timeoutMs: 60_000 });
  try {
    await t.client.putArtifact(name, runtime === 'wasm' ? 'wasm' : 'native', await fixtureBytes('loop', runtime === 'wasm' ? 'wasm' : 'native'));
    await t.client.putArtifact('rt-echo', runtime === 'wasm' ? 'wasm' : 'native', await fixtureBytes('echo', runtime === 'wasm' ? 'wasm' : 'native'));
    const clients = queue + 1;
    await Promise.all(Array.from({ length: clients }, () => abandon(t.url, `/functions/${name}/invoke?runtime=${runtime}`, 200)));
    await waitFor(`${clients} cancelled ${runtime} calls`, async () => (await cancelledCount(t, name, runtime)) === clients);
    const r = await rawRequest(t.url, 'POST', `/functions/rt-echo/invoke?runtime=${runtime}`, 'served');
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { output: string }).output, 'served');
    if (runtime === 'docker') await waitFor('the abandoned containers removed', async () => (await containersLabelled(name)).length === 0);
    c.diagnostic(`${clients} abandoned ${runtime} calls cancelled; the next call answered 200`);
  } finally {
    await t.close();
  }
}

test('wasm: calls whose client hung up are dropped from the queue or their worker is stopped; the next call is served', async (c) => {
  await abandonedCallsFreeTheRuntime(c, 'wasm', 'rt-loop', 8);
});

test('native: calls whose client hung up leave the queue or are killed; the next call is served', async (c) => {
  await abandonedCallsFreeTheRuntime(c, 'native', 'rt-loop', 8);
});

test('docker: an abandoned call\'s container is killed and removed; the next call is served', async (c) => {
  if (!(await requireDockerOrSkip(c))) return;
  await abandonedCallsFreeTheRuntime(c, 'docker', 'rt-dk-loop', 2);
});
