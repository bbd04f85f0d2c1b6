import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { InvocationResult } from '../../src/protocol/api.js';
import { containersLabelled, dockerUnavailableReason, requireDockerOrSkip } from '../helpers/docker.js';
import { fixtureBytes, type FixtureName } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Waits (bounded) until no container carries nebula.function=<name>; removal runs after the reply. */
async function assertContainersGone(name: string): Promise<void> {
  let left = await containersLabelled(name);
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await containersLabelled(name);
  }
  assert.deepEqual(left.map((c) => `${c.Id.slice(0, 12)} ${c.State}`), [], `containers of ${name} were not removed`);
}

function assertOrdered(r: InvocationResult): void {
  const m = r.metrics;
  const finished = m.finished_us ?? NaN;
  assert.ok(m.received_us <= m.ready_us && m.ready_us <= m.started_us && m.started_us <= finished && finished <= m.ended_us, JSON.stringify(m));
  assert.equal(m.startup_us + m.exec_us + (m.teardown_us ?? NaN), m.total_us);
}

// Function names are unique to this file: images are tagged by name and binary hash.
const FNS: Record<string, FixtureName> = { 'dk-echo': 'echo', 'dk-fail': 'fail', 'dk-loop': 'loop', 'dk-hog': 'hog', 'dk-nostart': 'nostart' };

const skip = (await dockerUnavailableReason()) !== undefined && process.env.NEBULA_REQUIRE_DOCKER !== '1';

describe('docker runtime against the real engine', { concurrency: false }, () => {
  let t: TestServer | undefined;

  before(async () => {
    if (skip) return;
    t = await startTestServer({ timeoutMs: 3000, maxMemoryMb: 32 });
    for (const [name, fixture] of Object.entries(FNS)) await t.client.putArtifact(name, 'native', await fixtureBytes(fixture, 'native'));
  });
  after(async () => {
    if (!t) return;
    for (const name of [...Object.keys(FNS), 'dk-saved']) await rawRequest(t.url, 'DELETE', `/functions/${name}`);
    await t.close();
  });

  test('healthz says docker true and a native deploy lists the FROM scratch image', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    assert.equal((await t!.client.health()).runtimes.docker, true);
    const echo = (await t!.client.listFunctions()).find((f) => f.name === 'dk-echo')!;
    assert.equal(echo.artifacts.docker?.image, `nebula-fn-dk-echo:${echo.artifacts.native!.sha256.slice(0, 12)}`);
  });

  test('echo in a container: output, exit 0, start_source function, ordered stamps, container removed', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await t!.client.invoke('dk-echo', 'from a container', 'docker');
    assert.equal(r.output, 'from a container');
    assert.equal(r.ok, true);
    assert.equal(r.exit_code, 0);
    assert.equal(r.start_source, 'function');
    assert.equal(r.end_source, 'function', 'the nebula-end line came through the attach stream');
    assert.equal(r.stderr, undefined);
    assertOrdered(r);
    await assertContainersGone('dk-echo');
  });

  test('a function without the nebula-start line gets start_source host in a container too', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await t!.client.invoke('dk-nostart', 'plain', 'docker');
    assert.equal(r.output, 'plain');
    assert.equal(r.start_source, 'host');
    assert.equal(r.stderr, 'a plain stderr line\n');
    assertOrdered(r);
  });

  test('a non-zero exit is ok:false with exit_code 3 and the container is removed', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await t!.client.invoke('dk-fail', 'x', 'docker');
    assert.equal(r.ok, false);
    assert.equal(r.exit_code, 3);
    assert.equal(r.output, 'partial output');
    assert.equal(r.stderr, 'failing on purpose: x\n');
    await assertContainersGone('dk-fail');
  });

  test('a memory hog is killed at the memory limit (exit 137, ok:false)', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await t!.client.invoke('dk-hog', '', 'docker');
    assert.equal(r.ok, false);
    assert.equal(r.exit_code, 137);
    assert.match(r.error ?? '', /32 MiB/);
    await assertContainersGone('dk-hog');
  });

  test('a runaway container is killed with 504, removed, and the next request works', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await rawRequest(t!.url, 'POST', '/functions/dk-loop/invoke?runtime=docker', 'x');
    assert.equal(r.status, 504);
    assert.equal(errorCode(r), 'timeout');
    await assertContainersGone('dk-loop');
    assert.equal((await t!.client.invoke('dk-echo', 'next', 'docker')).output, 'next');
  });

  test('concurrent container invocations never mix their stdio', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const inputs = ['alpha', 'bravo', 'charlie', 'delta'];
    const results = await Promise.all(inputs.map((i) => t!.client.invoke('dk-echo', i, 'docker')));
    assert.deepEqual(results.map((r) => r.output), inputs);
    await assertContainersGone('dk-echo');
    // The containers' CLOCK_REALTIME stamps agreed with the server's clock: no stamp was clamped.
    const metrics = await rawRequest(t!.url, 'GET', '/metrics');
    assert.match(metrics.text, /^nebula_invocations_total\{function="dk-echo",runtime="docker"\} \d+$/m);
    assert.doesNotMatch(metrics.text, /^nebula_timestamp_adjustments_total\{/m);
  });

  test('an uploaded docker save archive is loaded, tagged and runs', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const image = (await t!.client.listFunctions()).find((f) => f.name === 'dk-echo')!.artifacts.docker!.image;
    const stream = await new Docker().getImage(image).get();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const info = await t!.client.putArtifact('dk-saved', 'docker', Buffer.concat(chunks));
    assert.match(info.artifacts.docker?.image ?? '', /^nebula-fn-dk-saved:[0-9a-f]{12}$/);
    assert.equal((await t!.client.invoke('dk-saved', 'saved', 'docker')).output, 'saved');
  });

  test('an image archive without manifest.json or not a tar is 422', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await rawRequest(t!.url, 'PUT', '/functions/dk-bad/docker', Buffer.from('definitely not a tar archive'.repeat(40)));
    assert.equal(r.status, 422);
    assert.equal(errorCode(r), 'invalid-artifact');
    assert.equal((await t!.client.listFunctions()).some((f) => f.name === 'dk-bad'), false);
  });
});

describe('a server stopped mid-invocation', () => {
  test('kills and removes the running container before close() resolves', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const t = await startTestServer({ timeoutMs: 60_000 });
    try {
      await t.client.putArtifact('dk-stop', 'native', await fixtureBytes('loop', 'native'));
      const pending = t.client.invoke('dk-stop', '', 'docker').catch((error: unknown) => error);
      let running = await containersLabelled('dk-stop');
      for (let i = 0; i < 100 && !running.some((x) => x.State === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        running = await containersLabelled('dk-stop');
      }
      assert.ok(running.some((x) => x.State === 'running'), 'the loop container never ran');
      await t.server.close();
      assert.deepEqual(await containersLabelled('dk-stop'), [], 'a container outlived the server');
      await pending;
    } finally {
      await t.close();
    }
  });
});

describe('without a reachable Docker engine', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ dockerSocket: '/nonexistent/nebula-test-docker.sock' });
  });
  after(async () => {
    await t.close();
  });

  test('the server starts, says docker false with the reason, and docker invocations are 503 with a fix', async () => {
    const health = await t.client.health();
    assert.equal(health.runtimes.docker, false);
    assert.match(health.unavailable?.docker ?? '', /no Docker engine at \/nonexistent\/nebula-test-docker\.sock/);
    const info = await t.client.putArtifact('nodock', 'native', await fixtureBytes('echo', 'native'));
    assert.equal(info.artifacts.docker, undefined, 'no image without an engine');
    assert.equal((await t.client.invoke('nodock', 'native works', 'native')).output, 'native works');
    const r = await rawRequest(t.url, 'POST', '/functions/nodock/invoke?runtime=docker', 'x');
    assert.equal(r.status, 503);
    assert.equal(errorCode(r), 'docker-unavailable');
    assert.match(r.text, /start the Docker engine/);
    const archive = await rawRequest(t.url, 'PUT', '/functions/nodock/docker', Buffer.alloc(1024));
    assert.ok(archive.status === 422 || archive.status === 503, `${archive.status}`);
  });
});
