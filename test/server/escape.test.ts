import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcessTree, ProcessTrees } from '../../src/server/host/process-tree.js';
import { buildFixture, fixtureBytes } from '../helpers/fixtures.js';
import { rawRequest, errorCode } from '../helpers/http.js';
import { alive, processesRunningFrom, waitGone } from '../helpers/processes.js';
import { startTestServer } from '../helpers/server.js';

for (const cgroups of [false, true]) {
  const mode = cgroups ? '--cgroups' : 'the marker scan';
  test(`native (${mode}): a child that leaves the group with setsid() holds neither the reply nor its slot, and is killed; a normal call is served meanwhile`, async (c) => {
    const t = await startTestServer({ maxProcesses: 1, timeoutMs: 30_000, cgroups });
    try {
      if (cgroups) {
        const probe = new ProcessTrees(true);
        c.diagnostic(`with --cgroups, escaped processes are found by: ${probe.mode}${probe.memoryCap ? ' (+ memory.max)' : ''}`);
        await probe.killAll();
      }
      await t.client.putArtifact('rt-setsid', 'native', await fixtureBytes('setsid', 'native'));
      await t.client.putArtifact('rt-echo', 'native', await fixtureBytes('echo', 'native'));
      const pids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await t.client.invoke('rt-setsid', 'x', 'native');
        assert.equal(r.ok, true);
        pids.push(Number(r.output.trim()));
        // One slot: a held slot would queue this call behind the escaped child forever.
        assert.equal((await t.client.invoke('rt-echo', 'served', 'native')).output, 'served');
      }
      await waitGone(pids);
    } finally {
      await t.close();
    }
  });

  test(`native (${mode}): a child that leaves with setsid() and closes its stdio (a daemon) dies after the function exits, not at shutdown`, async () => {
    const t = await startTestServer({ timeoutMs: 30_000, cgroups });
    try {
      await t.client.putArtifact('rt-setsid', 'native', await fixtureBytes('setsid', 'native'));
      const r = await t.client.invoke('rt-setsid', 'daemon', 'native');
      assert.equal(r.ok, true);
      await waitGone([Number(r.output.trim())]);
    } finally {
      await t.close();
    }
  });
}

test('native: a function that escapes and hangs answers 504 at the timeout, and its escaped child is killed too', async () => {
  const t = await startTestServer({ timeoutMs: 500 });
  try {
    await t.client.putArtifact('rt-setsid', 'native', await fixtureBytes('setsid', 'native'));
    const r = await rawRequest(t.url, 'POST', '/functions/rt-setsid/invoke?runtime=native', 'hang');
    assert.equal(r.status, 504, r.text);
    assert.equal(errorCode(r), 'timeout');
    await waitGone(processesRunningFrom(t.storeDir));
    assert.deepEqual(processesRunningFrom(t.storeDir), []);
  } finally {
    await t.close();
  }
});

test('shutdown kills a call in flight and its escaped child without waiting for the timeout: no guest outlives the server', async () => {
  const t = await startTestServer({ timeoutMs: 600_000 });
  let pending: Promise<unknown> | undefined;
  let closed = false;
  try {
    await t.client.putArtifact('rt-setsid', 'native', await fixtureBytes('setsid', 'native'));
    pending = rawRequest(t.url, 'POST', '/functions/rt-setsid/invoke?runtime=native', 'hang').catch((e: unknown) => e);
    for (let i = 0; i < 200 && processesRunningFrom(t.storeDir).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const running = processesRunningFrom(t.storeDir);
    assert.equal(running.length, 2, 'the function and its escaped child run');
    const storeDir = t.storeDir;
    await t.close({ keepStore: true });
    closed = true;
    await waitGone(running);
    assert.deepEqual(processesRunningFrom(storeDir), []);
    await pending; // answered (503) or cut: either way it ends with the server, not at the 600 s timeout
    await rm(storeDir, { recursive: true, force: true });
  } finally {
    if (!closed) await t.close();
  }
});

test('without a cgroup, the environment marker finds a child that left its group with setsid()', async () => {
  const tree = new ProcessTree(`test-${process.pid}-scan`, undefined);
  const child = spawn(await buildFixture('setsid', 'native'), [], { env: tree.env, stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.end('x');
  tree.adopt(child.pid!); // no cgroup: only tells the scan where the guest's pids start
  const output = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const escaped = Number(output.trim());
  assert.ok(alive(escaped), 'the escaped child runs');
  assert.equal(await tree.hunt(), 1);
  await waitGone([escaped]);
  child.stdout.destroy();
});

test('a server with --cgroups that died without closing leaves nothing running: the next one kills its cgroup', async (c) => {
  const probe = new ProcessTrees(true);
  await probe.killAll();
  if (probe.mode !== 'cgroup') return c.skip('no writable cgroup v2 here: the marker scan alone applies');
  const mount = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')![1]!;
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  // pid 2^22 + 1 is above Linux's pid_max limit: no live process can own this group.
  const stale = join(mount, own, `nebula-${2 ** 22 + 1}.1`);
  await mkdir(join(stale, 'inv-1'), { recursive: true });
  const leftover = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  await writeFile(join(stale, 'inv-1', 'cgroup.procs'), String(leftover.pid));
  leftover.unref();
  const next = new ProcessTrees(true);
  await waitGone([leftover.pid!]);
  for (let i = 0; i < 40 && existsSync(stale); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(existsSync(stale), false);
  await next.killAll();
});
