import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runtime } from '../../src/protocol/api.js';
import { findCapMeans, launchCommand } from '../../src/server/runtimes/native/launcher.js';
import { requireDockerOrSkip } from '../helpers/docker.js';
import { buildFixture, fixtureBytes } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CAP_MB = 64;
const CAP_TEXT = `memory cap of ${CAP_MB} MiB reached (--max-memory-mb)`;

describe(`memory cap (${CAP_MB} MiB) against a hog that allocates 1 GiB`, { concurrency: false }, () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ maxMemoryMb: CAP_MB, timeoutMs: 20_000 });
    await t.client.putArtifact('mc-hog', 'wasm', await fixtureBytes('hog', 'wasm'));
    await t.client.putArtifact('mc-hog', 'native', await fixtureBytes('hog', 'native'));
    await t.client.putArtifact('mc-hog', 'component', await fixtureBytes('hog', 'component'));
    await t.client.putArtifact('mc-echo', 'component', await fixtureBytes('echo', 'component'));
    await t.client.putArtifact('mc-echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await t.client.putArtifact('mc-echo', 'native', await fixtureBytes('echo', 'native'));
    await t.client.putArtifact('mc-fail', 'native', await fixtureBytes('fail', 'native'));
  });
  after(async () => {
    await t.client.deleteFunction('mc-hog').catch(() => undefined);
    await t.client.deleteFunction('mc-echo').catch(() => undefined);
    await t.client.deleteFunction('mc-fail').catch(() => undefined);
    await t.close();
  });

  async function assertServed(runtime: Runtime): Promise<void> {
    const health = await t.client.health();
    assert.equal(health.runtimes[runtime], true);
    assert.equal((await t.client.invoke('mc-echo', 'after the hog', runtime)).output, 'after the hog');
  }

  for (const runtime of ['wasm', 'component', 'native'] as const) {
    test(`${runtime}: the hog fails at the cap (ok:false, error names the cap, exit 4), and the next call is served`, async () => {
      const r = await t.client.invoke('mc-hog', '1024', runtime);
      // WASI 0.2's exit carries only failure: exit(4) reaches the host as 1.
      const code = runtime === 'component' ? 1 : 4;
      assert.equal(r.ok, false);
      assert.equal(r.exit_code, code);
      assert.equal(r.error, `${CAP_TEXT}: exited with code ${code}`);
      const held = Number(/after (\d+) MiB/.exec(r.stderr ?? '')?.[1]);
      assert.ok(held > 0 && held < CAP_MB, `held ${held} MiB with a ${CAP_MB} MiB cap`);
      await assertServed(runtime);
    });
  }

  test('native: a hog that never checks malloc dies by SIGSEGV at the cap, reported as the cap', async () => {
    const r = await t.client.invoke('mc-hog', '1024 unchecked', 'native');
    assert.equal(r.ok, false);
    assert.equal(r.exit_code, 139);
    assert.equal(r.error, `${CAP_TEXT}: terminated by SIGSEGV`);
    await assertServed('native');
  });

  test('native: a hog below the cap holds what it asked for, and a failure far below the cap is not blamed on it', async () => {
    const small = await t.client.invoke('mc-hog', '10', 'native');
    assert.equal(small.ok, true, JSON.stringify(small));
    assert.match(small.output, /^held 10 MiB/);
    const failing = await t.client.invoke('mc-fail', 'x', 'native');
    assert.equal(failing.ok, false);
    assert.equal(failing.error, 'exited with code 3');
  });

  test('docker: the hog is OOM-killed by the engine, reported as the cap; the next call is served', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const r = await t.client.invoke('mc-hog', '1024', 'docker');
    assert.equal(r.ok, false);
    assert.equal(r.exit_code, 137);
    assert.equal(r.error, `${CAP_TEXT}: the engine killed the container (OOMKilled, exit 137)`);
    await assertServed('docker');
  });
});

test('native: the cap means — the compiled launcher here; prlimit where no compiler works, which caps the same', async () => {
  assert.equal((await findCapMeans()).kind, 'launcher');
  const dir = await mkdtemp(join(tmpdir(), 'nebula-launcher-'));
  try {
    const means = await findCapMeans({ compiler: join(dir, 'no-such-cc'), cacheDir: dir });
    assert.equal(means.kind, 'prlimit');
    const { file, args } = launchCommand(means, await buildFixture('hog', 'native'), CAP_MB * 1024 * 1024);
    const child = spawnSync(file, args, { input: '1024\n', encoding: 'utf8' });
    assert.equal(child.status, 4, child.stderr);
    assert.match(child.stderr, /out of memory after \d+ MiB/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
