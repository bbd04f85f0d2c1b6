import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationResultSchema } from '../../src/protocol/api.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nebula ARGS` (through tsx) with optional piped stdin. */
function nebula(args: string[], stdin?: string, env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NEBULA_TOKEN: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('nebula invoke', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ docker: false });
    await t.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await t.client.putArtifact('fail', 'wasm', await fixtureBytes('fail', 'wasm'));
  });
  after(async () => {
    await t.close();
  });

  test('prints the InvocationResult JSON and exits 0 for an INPUT argument', async () => {
    const ran = await nebula(['invoke', 'echo', 'argument input', '--target', t.url]);
    assert.equal(ran.code, 0, ran.stderr);
    const result = InvocationResultSchema.parse(JSON.parse(ran.stdout));
    assert.equal(result.output, 'argument input');
    assert.equal(result.runtime, 'wasm');
  });

  test('reads the input from stdin when piped and no INPUT is given', async () => {
    const ran = await nebula(['invoke', 'echo', '--target', t.url, '--runtime', 'wasm'], 'piped input\n');
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(JSON.parse(ran.stdout).output, 'piped input');
  });

  test('exits 1 when the function answers ok:false', async () => {
    const ran = await nebula(['invoke', 'fail', 'x', '--target', t.url]);
    assert.equal(ran.code, 1);
    assert.equal(JSON.parse(ran.stdout).exit_code, 3);
  });

  test('exits 3 with a hint when the target is unreachable', async () => {
    const ran = await nebula(['invoke', 'echo', 'x', '--target', 'http://127.0.0.1:9']);
    assert.equal(ran.code, 3);
    assert.match(ran.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
    assert.match(ran.stderr, /hint: Is `nebula serve` running there\?/);
  });

  test('exits 4 (not deployed) for a function the target does not have', async () => {
    const ran = await nebula(['invoke', 'nowhere', 'x', '--target', t.url]);
    assert.equal(ran.code, 4, ran.stderr);
    assert.match(ran.stderr, /^nebula: POST \/functions\/nowhere\/invoke\?runtime=wasm → 404 not-found: /);
  });

  test('exits 5 (runtime unavailable) for docker on a server without Docker', async () => {
    const ran = await nebula(['invoke', 'echo', 'x', '--target', t.url, '--runtime', 'docker']);
    assert.equal(ran.code, 5, ran.stderr);
    assert.match(ran.stderr, / → 503 docker-unavailable: /);
  });

  test('a foreign HTTP server at the target is exit 3 "not a nebula server" with a hint, not a bare 404', async () => {
    const foreign = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><head><title>404 Not Found</title></head><body>nginx</body></html>');
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = foreign.address() as AddressInfo;
      const ran = await nebula(['invoke', 'echo', 'x', '--target', `http://127.0.0.1:${port}`]);
      assert.equal(ran.code, 3, ran.stderr);
      assert.equal(
        ran.stderr,
        `nebula: http://127.0.0.1:${port} is not a nebula server: POST /functions/echo/invoke?runtime=wasm answered 404 with text/html: <html><head><title>404 Not Found</title></head><body>nginx</body></html>\n` +
          '  hint: Point --target (or NEBULA_TARGET) at a running `nebula serve` (default port 3090).\n',
      );
    } finally {
      await new Promise<void>((resolve) => foreign.close(() => resolve()));
    }
  });

  test('exits 2 naming --runtime when the runtime is unknown', async () => {
    const ran = await nebula(['invoke', 'echo', 'x', '--target', t.url, '--runtime', 'jvm']);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /--runtime "jvm" is unknown/);
  });
});

/** Waits for a spawned `nebula serve` to print its URL; rejects with its stderr if it exits first. */
function listening(child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>): Promise<{ url: string; stderr: string }> {
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve({ url: m[1]!, stderr });
    });
    child.on('close', (code, signal) => reject(new Error(`serve exited ${code ?? signal}: ${stderr}`)));
  });
}

describe('nebula serve', () => {
  test('prints its URL on stderr, serves, and exits 0 on SIGTERM', async () => {
    const store = await mkdtemp(join(tmpdir(), 'nebula-serve-'));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--store', store, '--docker-socket', '/nonexistent.sock'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const { url, stderr } = await listening(child);
      assert.match(stderr, /docker: no \(no Docker engine at \/nonexistent\.sock/);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean };
      assert.equal(health.ok, true);
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      assert.equal(await closed, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(store, { recursive: true, force: true });
    }
  });

  // Root is never refused a socket, so the check runs serve as nobody against a socket only root may open.
  test('a Docker socket it may not open (EACCES) is reported at start-up with the docker-group hint', { skip: process.getuid?.() !== 0 ? 'needs root to run serve as nobody' : false }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nebula-eacces-'));
    await chmod(dir, 0o755);
    const socket = join(dir, 'docker.sock');
    const engine = createNetServer();
    await new Promise<void>((resolve) => engine.listen(socket, resolve));
    await chmod(socket, 0o600);
    const store = join(dir, 'store');
    await mkdir(store);
    await chmod(store, 0o777);
    const child = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--import', 'tsx', CLI, 'serve', '--port', '0', '--store', store, '--docker-socket', socket], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const { url, stderr } = await listening(child);
      assert.equal(((await (await fetch(`${url}/healthz`)).json()) as { runtimes: { docker: boolean } }).runtimes.docker, false);
      assert.match(
        stderr,
        /docker: no \(permission denied on the Docker socket .*docker\.sock: add the user running nebula serve to the docker group \(sudo usermod -aG docker "\$USER", then log in again/,
      );
      const closed = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(`${code ?? signal}: ${stderr}`)));
      child.kill('SIGTERM');
      assert.match(await closed, /^0: /);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await new Promise<void>((resolve) => engine.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses a non-loopback --host without a token: exit 2 with a hint', async () => {
    const ran = await nebula(['serve', '--host', '0.0.0.0', '--port', '0', '--store', join(tmpdir(), 'never-created')]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /refusing to bind 0\.0\.0\.0 without a token/);
    assert.match(ran.stderr, /hint: Pass --token/);
  });

  test('a bad numeric flag is exit 2 naming the flag and its range, before anything starts', async () => {
    const ran = await nebula(['serve', '--port', '99999', '--store', join(tmpdir(), 'never-created')]);
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr, 'nebula: --port must be a whole number from 0 to 65535, got "99999"\n');
  });
});
