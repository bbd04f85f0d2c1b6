/**
 * The `component` runtime against a real server: a redeploy runs the new code, a restart after an
 * interrupted deploy transpiles the component on disk again, the guest's clocks are the server's.
 * (Outputs on every thesis input: test/functions/outputs.test.ts; stdio, traps, timeouts and the
 * memory cap beside the other runtimes: test/server/api.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

test('component: a redeploy under the same name runs the new component, in every worker', async () => {
  const t = await startTestServer({ docker: false, workers: 2 });
  try {
    await t.client.putArtifact('swap', 'component', await fixtureBytes('echo', 'component'));
    // Two at once, so both workers have imported the first glue.
    const first = await Promise.all([t.client.invoke('swap', 'a', 'component'), t.client.invoke('swap', 'b', 'component')]);
    assert.deepEqual(first.map((r) => r.output), ['a', 'b']);
    await t.client.putArtifact('swap', 'component', await fixtureBytes('fail', 'component'));
    const second = await Promise.all([t.client.invoke('swap', 'c', 'component'), t.client.invoke('swap', 'd', 'component')]);
    for (const r of second) {
      assert.equal(r.output, 'partial output');
      assert.equal(r.ok, false);
    }
  } finally {
    await t.close();
  }
});

test('component: a restart after a deploy interrupted between component and meta.json transpiles the file on disk, with a warning', async () => {
  const first = await startTestServer({ docker: false });
  await first.client.putArtifact('echo', 'component', await fixtureBytes('echo', 'component'));
  await first.close({ keepStore: true });
  const stored = await readdir(join(first.storeDir, 'echo'));
  assert.ok(stored.includes('component.wasm') && stored.includes('component.mjs'), stored.join(', '));
  // The crash window: the new component was renamed into place, its glue and meta.json were not.
  const newer = await fixtureBytes('nostart', 'component');
  await writeFile(join(first.storeDir, 'echo', 'component.wasm'), newer);
  const second = await startTestServer({ docker: false, storeDir: first.storeDir });
  try {
    const [echo] = await second.client.listFunctions();
    assert.equal(echo?.artifacts.component?.sha256, createHash('sha256').update(newer).digest('hex'));
    assert.ok(second.server.warnings.some((w) => /echo: component\.wasm was newer than its meta\.json/.test(w)), second.server.warnings.join('\n'));
    const r = await second.client.invoke('echo', 'plain', 'component');
    assert.deepEqual([r.output, r.start_source, r.stderr], ['plain', 'host', 'a plain stderr line\n'], 'the nostart component runs');
  } finally {
    await second.close();
  }
});

test('component: the guest reads the server clock, and a looping component is stopped at the timeout while the next call is served', async () => {
  // Long enough for a replacement worker to import the glue and compile on a loaded machine.
  const t = await startTestServer({ docker: false, workers: 1, timeoutMs: 3000 });
  try {
    await t.client.putArtifact('clock', 'component', await fixtureBytes('clock', 'component'));
    await t.client.putArtifact('loop', 'component', await fixtureBytes('loop', 'component'));
    const r = await t.client.invoke('clock', '', 'component');
    const guest = Number(r.output);
    assert.ok(guest >= r.metrics.started_us && guest <= r.metrics.ended_us, `guest clock ${guest} outside [${r.metrics.started_us}, ${r.metrics.ended_us}]`);
    for (let i = 0; i < 2; i++) {
      const stuck = await rawRequest(t.url, 'POST', '/functions/loop/invoke?runtime=component', 'x');
      assert.equal(stuck.status, 504);
      assert.equal(errorCode(stuck), 'timeout');
      // One worker: it was replaced, and the replacement imports the glue again.
      assert.ok((await t.client.invoke('clock', '', 'component')).ok);
    }
  } finally {
    await t.close();
  }
});
