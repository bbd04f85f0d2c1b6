import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
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
