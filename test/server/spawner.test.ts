/**
 * Native calls are started by the spawner process, never by a fork of the server (a fork makes the
 * server's next calls pay a page fault per page it writes: docs/methodology.md, "Predecessors"). The
 * spawner's death fails its calls clearly and kills what they ran; the server's death ends the spawner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TargetClient } from '../../src/client/target.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { alive, commandLine, parentOf, processesRunningFrom, waitFor, waitGone } from '../helpers/processes.js';
import { startTestServer } from '../helpers/server.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** The spawner a running native function of `storeDir` came from: function → launcher → spawner. */
async function spawnerOf(storeDir: string): Promise<{ fn: number; spawner: number }> {
  const [fn] = await waitFor(() => processesRunningFrom(storeDir));
  return { fn: fn!, spawner: parentOf(parentOf(fn!)) };
}

test('native calls are spawned by the spawner process, not by a fork of the server', async () => {
  const t = await startTestServer({ timeoutMs: 30_000 });
  try {
    await t.client.putArtifact('rt-loop', 'native', await fixtureBytes('loop', 'native'));
    const call = rawRequest(t.url, 'POST', '/functions/rt-loop/invoke?runtime=native', 'x');
    const { fn, spawner } = await spawnerOf(t.storeDir);
    assert.notEqual(parentOf(fn), process.pid, 'the launcher is not the server');
    assert.notEqual(spawner, process.pid, 'the server forked the launcher itself');
    assert.equal(parentOf(spawner), process.pid, 'the spawner is the server\'s child');
    assert.match(commandLine(spawner), /spawner-process\.(ts|js)/);
    process.kill(fn, 'SIGKILL');
    const r = await call;
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { exit_code: number }).exit_code, 137);
  } finally {
    await t.close();
  }
});

test('a spawner killed during a call: the call fails naming it, its function is killed, the next call starts a new spawner', async () => {
  const t = await startTestServer({ timeoutMs: 30_000 });
  try {
    await t.client.putArtifact('rt-loop', 'native', await fixtureBytes('loop', 'native'));
    await t.client.putArtifact('rt-echo', 'native', await fixtureBytes('echo', 'native'));
    const call = rawRequest(t.url, 'POST', '/functions/rt-loop/invoke?runtime=native', 'x');
    const { fn, spawner } = await spawnerOf(t.storeDir);
    process.kill(spawner, 'SIGKILL');
    const r = await call;
    assert.equal(r.status, 500, r.text);
    assert.equal(errorCode(r), 'internal');
    assert.match(r.text, /native spawner process ended \(SIGKILL\) during the call; the next call starts a new one/);
    await waitGone([fn]);
    assert.equal((await t.client.invoke('rt-echo', 'served', 'native')).output, 'served');
    assert.deepEqual(processesRunningFrom(t.storeDir), []);
  } finally {
    await t.close();
  }
});

test('a server killed with SIGKILL during a native call leaves neither its spawner nor the function running', async () => {
  const store = await mkdtemp(join(tmpdir(), 'nebula-spawner-'));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--store', store, '--docker-socket', '/nonexistent.sock', '--timeout-ms', '60000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
    const client = new TargetClient(url);
    await client.putArtifact('rt-loop', 'native', await fixtureBytes('loop', 'native'));
    void rawRequest(url, 'POST', '/functions/rt-loop/invoke?runtime=native', 'x').catch(() => undefined);
    const { fn, spawner } = await spawnerOf(store);
    assert.equal(parentOf(spawner), child.pid);
    child.kill('SIGKILL');
    await waitGone([spawner, fn]);
    assert.equal(alive(spawner), false);
    await client.close();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(store, { recursive: true, force: true });
  }
});
