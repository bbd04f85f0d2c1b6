/**
 * `prewarmed` start mode against a real server (and the real Docker engine): every call runs fresh
 * code in an instance prepared ahead, a redeploy discards what was prepared, prepared instances hold
 * the runtime's slots, and nothing prepared outlives the server (docs/runtimes.md, "Start modes").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import type { InvocationResult, Runtime } from '../../src/protocol/api.js';
import { containersLabelled, dockerUnavailableReason, requireDockerOrSkip } from '../helpers/docker.js';
import { fixtureBytes, type FixtureKind, type FixtureName } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const hasDocker = (await dockerUnavailableReason()) === undefined || process.env.NEBULA_REQUIRE_DOCKER === '1';
const RUNTIMES: Runtime[] = ['wasm', 'component', 'native', ...(hasDocker ? (['docker'] as const) : [])];

/** The artifact kind a runtime's deploy takes here (docker's image is built from the native upload). */
const kindOf = (runtime: Runtime): FixtureKind => (runtime === 'docker' ? 'native' : runtime);

async function deploy(t: TestServer, name: string, fixture: FixtureName, runtime: Runtime): Promise<void> {
  await t.client.putArtifact(name, kindOf(runtime), await fixtureBytes(fixture, kindOf(runtime)));
}

/** Waits until the server has finished its background work (the next preparation). */
async function settled(t: TestServer): Promise<void> {
  const r = await rawRequest(t.url, 'GET', '/settled?wait_ms=20000');
  assert.equal((r.json as { settled: boolean }).settled, true, r.text);
}

function assertOrdered(r: InvocationResult): void {
  const m = r.metrics;
  assert.ok(m.received_us <= m.ready_us && m.ready_us <= m.started_us && m.started_us <= m.ended_us, JSON.stringify(m));
  assert.equal(m.startup_us + m.exec_us + (m.teardown_us ?? NaN), m.total_us);
}

/** Processes whose command line names a file under `dir` (a native function or its launcher). */
async function processesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) found.push(`${pid} ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

describe('prewarmed start mode', { concurrency: false }, () => {
  let t: TestServer | undefined;

  before(async () => {
    t = await startTestServer({ timeoutMs: 5000, maxMemoryMb: 64 });
  });
  after(async () => {
    if (!t) return;
    const storeDir = t.storeDir;
    await t.close();
    for (const runtime of RUNTIMES) assert.deepEqual(await containersLabelled(`pw-${runtime}`), [], 'a prepared container outlived the server');
    assert.deepEqual(await processesUnder(storeDir), [], 'a prepared process outlived the server');
  });

  test('?mode= other than cold|prewarmed is refused with 400 bad-mode', async () => {
    await deploy(t!, 'pw-wasm', 'counter', 'wasm');
    const r = await rawRequest(t!.url, 'POST', '/functions/pw-wasm/invoke?runtime=wasm&mode=warm', '1');
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'bad-mode');
    assert.match(r.text, /cold\|prewarmed/);
  });

  for (const runtime of RUNTIMES) {
    test(`${runtime}: prewarmed calls run prepared, fresh instances; cold calls say cold`, async () => {
      const name = `pw-${runtime}`;
      await deploy(t!, name, 'counter', runtime);
      assert.equal(await t!.client.prepare(name, runtime), true, `the explicit prepare made an instance: ${t!.server.warnings.join('; ')}`);
      for (let i = 0; i < 3; i++) {
        // A cold call in between (the interleaved order of `modes: [cold, prewarmed]`) leaves the prepared instance alone.
        const between = await t!.client.invoke(name, `cold ${i}`, runtime);
        assert.equal(between.output, `1 cold ${i}`);
        assert.equal(between.prepared, undefined);
        await settled(t!);
        const r = await t!.client.invoke(name, `call ${i}`, runtime, undefined, 'prewarmed');
        assert.equal(r.ok, true, JSON.stringify(r));
        // A reused instance would print its global counter past 1.
        assert.equal(r.output, `1 call ${i}`);
        assert.equal(r.mode, 'prewarmed');
        assert.equal(r.prepared, true, `call ${i} found a prepared instance`);
        assertOrdered(r);
        // The function's own start stamp is not from before the request (a native process printed it at spawn).
        assert.ok(r.stderr === undefined || !r.stderr.includes('nebula-start'), r.stderr);
      }
      const cold = await t!.client.invoke(name, 'cold', runtime);
      assert.equal(cold.output, '1 cold');
      assert.equal(cold.mode, 'cold');
      assert.equal(cold.prepared, undefined);
    });

    test(`${runtime}: a redeploy between prewarmed calls discards the prepared instance: the next call runs the new code`, async () => {
      const name = `pw-swap-${runtime}`;
      await deploy(t!, name, 'echo', runtime);
      await t!.client.invoke(name, 'warm-up', runtime, undefined, 'prewarmed');
      await settled(t!);
      const before = await t!.client.invoke(name, 'x', runtime, undefined, 'prewarmed');
      assert.equal(before.output, 'x');
      assert.equal(before.prepared, true);
      await settled(t!);
      await deploy(t!, name, 'counter', runtime);
      const afterDeploy = await t!.client.invoke(name, 'x', runtime, undefined, 'prewarmed');
      assert.equal(afterDeploy.output, '1 x', 'the call after the redeploy ran the new version');
      await settled(t!);
      const next = await t!.client.invoke(name, 'y', runtime, undefined, 'prewarmed');
      assert.equal(next.output, '1 y');
      assert.equal(next.prepared, true, 'the instance prepared after the redeploy is of the new version');
      await rawRequest(t!.url, 'DELETE', `/functions/${name}`);
      if (runtime === 'docker') assert.deepEqual(await settledContainers(t!, name), []);
    });
  }
});

/** The containers of `name` once the server has settled (removals run in the background). */
async function settledContainers(t: TestServer, name: string): Promise<string[]> {
  await settled(t);
  return (await containersLabelled(name)).map((c) => `${c.Id.slice(0, 12)} ${c.State}`);
}

for (const runtime of ['native', 'docker'] as const) {
  test(`${runtime}: prepared instances hold the runtime's slots; a call that needs one discards a prepared instance`, async (c) => {
    if (runtime === 'docker' && !(await requireDockerOrSkip(c))) return;
    const t = await startTestServer({ timeoutMs: 5000, maxMemoryMb: 64, maxProcesses: 1, maxContainers: 1 });
    try {
      await deploy(t, 'pw-lim-a', 'counter', runtime);
      await deploy(t, 'pw-lim-b', 'echo', runtime);
      assert.equal(await t.client.prepare('pw-lim-a', runtime), true);
      if (runtime === 'docker') assert.deepEqual((await containersLabelled('pw-lim-a')).map((x) => x.State), ['running'], 'the prepared container runs, blocked on stdin');
      // The one slot is held by a's prepared instance: b cannot prepare one.
      assert.equal(await t.client.prepare('pw-lim-b', runtime), false, 'a second prepared instance would exceed the limit');
      // A call still runs: it discards a's prepared instance to take the slot.
      const b = await t.client.invoke('pw-lim-b', 'through', runtime);
      assert.equal(b.output, 'through');
      await settled(t);
      const a = await t.client.invoke('pw-lim-a', 'after', runtime, undefined, 'prewarmed');
      assert.equal(a.output, '1 after');
      assert.equal(a.prepared, false, "a's prepared instance was discarded for b's call");
      await settled(t);
      if (runtime === 'docker') {
        const left = (await containersLabelled('pw-lim-a')).map((x) => x.State);
        assert.deepEqual(left, ['running'], 'exactly one prepared container (waiting for its input) after the prewarmed call');
      }
    } finally {
      const storeDir = t.storeDir;
      await t.close();
      assert.deepEqual(await containersLabelled('pw-lim-a'), []);
      assert.deepEqual(await containersLabelled('pw-lim-b'), []);
      assert.deepEqual(await processesUnder(storeDir), []);
    }
  });
}
