/** `nebula serve` as a process: start-up line, SIGTERM, Docker permission hint, refused flags. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../console/helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const nebula = async (args: string[]): Promise<{ code: number | null; stderr: string }> => runCli(args, { NEBULA_TOKEN: '' }).done;

/** Waits for a spawned `nebula serve` to print its URL; rejects with its stderr if it exits first. */
function listening(child: ChildProcessByStdio<null, Readable, Readable>): Promise<{ url: string; stderr: string }> {
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
