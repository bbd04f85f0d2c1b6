import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { containersLabelled, dockerUnavailableReason, requireDockerOrSkip } from '../helpers/docker.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const docker = new Docker();
const skip = (await dockerUnavailableReason()) !== undefined && process.env.NEBULA_REQUIRE_DOCKER !== '1';

/** An image built here from a fixture (FROM scratch, /fn), with extra Dockerfile lines. */
async function buildImage(tag: string, binary: Buffer, extra = ''): Promise<void> {
  const context = pack();
  context.entry({ name: 'Dockerfile' }, `FROM scratch\nCOPY fn /fn\n${extra}ENTRYPOINT ["/fn"]\n`);
  context.entry({ name: 'fn', mode: 0o755 }, binary);
  context.finalize();
  const output = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(output, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function save(image: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await docker.getImage(image).get()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `archive` with its manifest.json's RepoTags and its `repositories` file claiming `claim` (repo:tag). */
async function claiming(archive: Buffer, claim: string, id: string): Promise<Buffer> {
  const [repo, tag] = claim.split(':') as [string, string];
  const ex = extract();
  const out = pack();
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      let body = Buffer.concat(chunks);
      if (header.name === 'manifest.json') {
        const manifest = JSON.parse(body.toString('utf8')) as Array<{ RepoTags: string[] }>;
        manifest[0]!.RepoTags = [claim];
        body = Buffer.from(JSON.stringify(manifest));
      }
      if (header.name === 'repositories') body = Buffer.from(JSON.stringify({ [repo]: { [tag]: id } }));
      out.entry({ ...header, size: body.length }, body, next);
    });
  });
  ex.on('finish', () => out.finalize());
  Readable.from([archive]).pipe(ex);
  const chunks: Buffer[] = [];
  for await (const chunk of out) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function imageId(ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

async function volumeCount(): Promise<number> {
  return ((await docker.listVolumes()).Volumes ?? []).length;
}

async function imagesOf(name: string): Promise<string[]> {
  const images = await docker.listImages({ filters: { reference: [`nebula-fn-${name}`] } });
  return images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`nebula-fn-${name}:`));
}

/** Polls until `check` holds (removals run in the background, off the reply's path). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(what);
}

describe('docker artifacts: tags, volumes and old images', { concurrency: false, skip: skip ? 'no Docker engine' : false }, () => {
  let t: TestServer;
  const VICTIM = 'nebula-test-victim:latest';
  const ATTACKER = 'nebula-test-attacker:latest';
  const WITH_VOLUME = 'nebula-test-volume:latest';

  before(async () => {
    // What an earlier run that died left behind would be counted as this run's leak.
    for (const name of ['da-claim', 'da-volume', 'da-redeploy', 'da-inflight']) {
      for (const tag of await imagesOf(name)) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    }
    t = await startTestServer({ timeoutMs: 20_000 });
    await buildImage(VICTIM, await fixtureBytes('echo', 'native'));
    await buildImage(ATTACKER, await fixtureBytes('fail', 'native'));
    await buildImage(WITH_VOLUME, await fixtureBytes('echo', 'native'), 'VOLUME /data\n');
  });
  after(async () => {
    for (const name of ['da-claim', 'da-volume', 'da-redeploy', 'da-inflight']) await t.client.deleteFunction(name).catch(() => undefined);
    await t.close();
    for (const image of [VICTIM, ATTACKER, WITH_VOLUME]) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
  });

  test('an archive whose RepoTags and repositories claim an existing image does not re-tag it; it runs under its own nebula-fn tag', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    const victimId = await imageId(VICTIM);
    const attackerId = (await imageId(ATTACKER))!;
    const archive = await claiming(await save(ATTACKER), VICTIM, attackerId.replace(/^sha256:/, ''));
    // The attacker's own tag goes, so the engine holds its image only through what the upload does.
    await docker.getImage(ATTACKER).remove();
    const info = await t.client.putArtifact('da-claim', 'docker', archive);
    assert.equal(await imageId(VICTIM), victimId, `${VICTIM} was re-tagged`);
    assert.match(info.artifacts.docker?.image ?? '', /^nebula-fn-da-claim:[0-9a-f]{12}$/);
    assert.equal(await imageId(info.artifacts.docker!.image), attackerId);
    const r = await t.client.invoke('da-claim', 'x', 'docker');
    assert.equal(r.exit_code, 3, 'the uploaded image (fail) runs, not the victim (echo)');
  });

  test('an image with a VOLUME leaves no anonymous volume behind after 5 calls', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    await t.client.putArtifact('da-volume', 'docker', await save(WITH_VOLUME));
    const before = await volumeCount();
    for (let i = 0; i < 5; i++) assert.equal((await t.client.invoke('da-volume', `call ${i}`, 'docker')).output, `call ${i}`);
    await eventually(async () => (await volumeCount()) <= before, `volumes ${before} → ${await volumeCount()} after 5 calls`);
  });

  test('a redeploy leaves one image per function, and a delete none', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    for (const fixture of ['echo', 'fail', 'nostart'] as const) {
      await t.client.putArtifact('da-redeploy', 'native', await fixtureBytes(fixture, 'native'));
      await t.client.invoke('da-redeploy', 'x', 'docker');
    }
    await eventually(async () => (await imagesOf('da-redeploy')).length === 1, `images of da-redeploy: ${(await imagesOf('da-redeploy')).join(', ')}`);
    await t.client.putArtifact('da-redeploy', 'docker', await save(WITH_VOLUME));
    await eventually(async () => (await imagesOf('da-redeploy')).length === 1, `images after an archive redeploy: ${(await imagesOf('da-redeploy')).join(', ')}`);
    await t.client.deleteFunction('da-redeploy');
    await eventually(async () => (await imagesOf('da-redeploy')).length === 0, `images after delete: ${(await imagesOf('da-redeploy')).join(', ')}`);
  });

  test('a redeploy while a call still runs on the old image removes that image once the call is gone', async (c) => {
    if (!(await requireDockerOrSkip(c))) return;
    // An image no other tag shares (a label of its own): the engine refuses to untag it while a
    // container uses it, where an image with other tags would just lose one.
    const own = 'nebula-test-inflight:latest';
    await buildImage(own, await fixtureBytes('loop', 'native'), `LABEL unique="${process.pid}-${Date.now()}"\n`);
    await t.client.putArtifact('da-inflight', 'docker', await save(own));
    await docker.getImage(own).remove();
    const request = http.request(`${t.url}/functions/da-inflight/invoke?runtime=docker`, { method: 'POST' });
    request.on('error', () => undefined);
    request.end('x');
    await eventually(async () => (await containersLabelled('da-inflight')).some((x) => x.State === 'running'), 'the loop container never ran');
    await t.client.putArtifact('da-inflight', 'native', await fixtureBytes('echo', 'native'));
    // The old image is still in use: the server retries its removal instead of giving up.
    request.destroy();
    await eventually(async () => (await imagesOf('da-inflight')).length === 1, `images of da-inflight: ${(await imagesOf('da-inflight')).join(', ')}`);
    assert.equal((await t.client.invoke('da-inflight', 'new', 'docker')).output, 'new');
  });
});
