import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes } from '../helpers/fixtures.js';
import { dockerUnavailableReason, dockerRequired } from '../helpers/docker.js';
import { startTestServer } from '../helpers/server.js';

test('output over the cap is cut at the cap and flagged truncated on every runtime; output under it is not flagged', async (c) => {
  const noDocker = await dockerUnavailableReason();
  if (noDocker && dockerRequired()) throw new Error(`NEBULA_REQUIRE_DOCKER=1 but ${noDocker}`);
  const t = await startTestServer({ maxOutputBytes: 64 });
  try {
    await t.client.putArtifact('cap-echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await t.client.putArtifact('cap-echo', 'native', await fixtureBytes('echo', 'native'));
    const runtimes: Array<'wasm' | 'native' | 'docker'> = ['wasm', 'native'];
    if (noDocker) c.diagnostic(`docker part not run: ${noDocker}`);
    else runtimes.push('docker');
    for (const runtime of runtimes) {
      const long = await t.client.invoke('cap-echo', 'x'.repeat(200), runtime);
      assert.equal(long.output, 'x'.repeat(64), runtime);
      assert.equal(long.truncated, true, runtime);
      const short = await t.client.invoke('cap-echo', 'short', runtime);
      assert.equal(short.output, 'short', runtime);
      assert.equal(short.truncated, undefined, runtime);
    }
  } finally {
    await t.close();
  }
});
