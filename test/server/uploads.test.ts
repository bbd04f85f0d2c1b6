import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Polls until `check` holds. */
async function eventually(check: () => Promise<boolean>, what: () => Promise<string>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(await what());
}

describe('uploads are streamed to a file and leave nothing half-written', { concurrency: false }, () => {
  let t: TestServer;
  let tmp: string;
  let oldSha: string;
  const held = async (): Promise<string[]> => readdir(tmp);

  before(async () => {
    // No docker: what is measured here is the store, not an image build.
    t = await startTestServer({ maxArtifactBytes: 64 * 1024 * 1024, docker: false });
    tmp = join(t.storeDir, '.tmp');
    oldSha = (await t.client.putArtifact('up-fn', 'native', await fixtureBytes('echo', 'native'))).artifacts.native!.sha256;
  });
  after(async () => {
    await t.close();
  });

  async function assertOldVersionIntact(): Promise<void> {
    assert.deepEqual(await held(), [], 'the store .tmp still holds a file');
    const info = (await t.client.listFunctions()).find((f) => f.name === 'up-fn');
    assert.equal(info?.artifacts.native?.sha256, oldSha);
    assert.equal((await t.client.invoke('up-fn', 'still the old one', 'native')).output, 'still the old one');
  }

  test('a deploy streams into the store .tmp while it arrives; a client that disconnects mid-upload leaves no file and the old version', async () => {
    const elf = await fixtureBytes('fail', 'native');
    const total = 32 * 1024 * 1024;
    const req = http.request(`${t.url}/functions/up-fn/native`, { method: 'PUT', headers: { 'content-length': total } });
    req.on('error', () => undefined);
    req.write(elf);
    req.write(Buffer.alloc(4 * 1024 * 1024));
    // The file grows on disk while the body is still arriving: the upload is not held in memory.
    await eventually(
      async () => {
        const files = await held();
        if (files.length !== 1) return false;
        return (await readFile(join(tmp, files[0]!))).length >= elf.length;
      },
      async () => `no partial upload in .tmp: ${JSON.stringify(await held())}`,
    );
    req.destroy();
    await eventually(
      async () => (await held()).length === 0,
      async () => `left in .tmp after the disconnect: ${JSON.stringify(await held())}`,
    );
    await assertOldVersionIntact();
  });

  test('an upload refused after it arrived (a dynamically linked ELF: 422) leaves no file and the old version', async () => {
    const dynamic = await readFile('/bin/true');
    const r = await rawRequest(t.url, 'PUT', '/functions/up-fn/native', dynamic);
    assert.equal(r.status, 422);
    assert.match(r.text, /dynamically linked/);
    await assertOldVersionIntact();
  });

  test('an upload refused by its first bytes (not an ELF) and one past --max-artifact-mb (413) leave no file', async () => {
    const garbage = await rawRequest(t.url, 'PUT', '/functions/up-fn/native', Buffer.alloc(1024 * 1024, 0x41));
    assert.equal(garbage.status, 422);
    const big = Buffer.concat([await fixtureBytes('fail', 'native'), Buffer.alloc(65 * 1024 * 1024)]);
    const tooBig = await rawRequest(t.url, 'PUT', '/functions/up-fn/native', big);
    assert.equal(tooBig.status, 413);
    assert.equal(errorCode(tooBig), 'too-large');
    await assertOldVersionIntact();
  });

  test('a streamed deploy stores the file whole: same bytes, hash and mode as uploaded, and it runs', async () => {
    const fail = await fixtureBytes('fail', 'native');
    const info = await t.client.putArtifact('up-fn', 'native', fail);
    assert.deepEqual(await readFile(join(t.storeDir, 'up-fn', 'native')), fail);
    assert.equal((await stat(join(t.storeDir, 'up-fn', 'native'))).mode & 0o777, 0o755);
    assert.notEqual(info.artifacts.native?.sha256, oldSha);
    const r = await t.client.invoke('up-fn', 'x', 'native');
    assert.equal(r.exit_code, 3);
    assert.deepEqual(await held(), []);
    // wasm still gets its bytes (read back from the file to compile).
    await t.client.putArtifact('up-wasm', 'wasm', await fixtureBytes('echo', 'wasm'));
    assert.equal((await t.client.invoke('up-wasm', 'wasm too', 'wasm')).output, 'wasm too');
    assert.deepEqual(await held(), []);
  });
});
