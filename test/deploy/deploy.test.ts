/** nebula deploy against a real `nebula serve` on 127.0.0.1: directories, artifact files and the errors. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { buildFunctions, bundledFunctionsDir, hostArch } from '../../src/build/index.js';
import { deployFunctions, type DeployEvent } from '../../src/deploy/index.js';
import { TargetError, UsageError } from '../../src/errors.js';
import { requireDockerOrSkip } from '../helpers/docker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CLI = path.resolve('src/cli.ts');
const arch = hostArch() ?? 'x64';
// Names unique to this process: the server names docker images after the function, and other suites deploy "factorial" too.
const FN = `fact${process.pid}`;

let tmp: string;
let factorialDir: string;
let server: TestServer;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nebula-deploy-'));
  factorialDir = path.join(tmp, FN);
  await mkdir(factorialDir);
  await copyFile(path.join(bundledFunctionsDir(), 'factorial', 'factorial.c'), path.join(factorialDir, `${FN}.c`));
  await buildFunctions([factorialDir], { arch });
  server = await startTestServer();
});

after(async () => {
  // Deleting the functions also removes the docker images the server built for them.
  if (server) for (const fn of await server.client.listFunctions()) await server.client.deleteFunction(fn.name);
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (through tsx) and collects its exit code and output. */
function nebula(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, NEBULA_TOKEN: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('deploying function directories', () => {
  test('deployFunctions uploads the .wasm, the component and the native executable for the target arch, which then answer', async () => {
    const events: DeployEvent[] = [];
    const report = await deployFunctions(server.client, [factorialDir], { onProgress: (e) => events.push(e) });
    assert.equal(report.arch, arch);
    assert.deepEqual(report.notes, []);
    assert.deepEqual(
      report.functions.map((fn) => [fn.name, fn.artifacts.map((a) => [a.kind, path.relative(factorialDir, a.path)])]),
      [[FN, [['wasm', `${FN}.wasm`], ['component', `${FN}.component.wasm`], ['native', `build/${FN}-${arch}`]]]],
    );
    assert.deepEqual(events.map((e) => `${e.type} ${e.kind}`), [
      'upload wasm',
      'deployed wasm',
      'upload component',
      'deployed component',
      'upload native',
      'deployed native',
    ]);

    const [listed] = (await server.client.listFunctions()).filter((fn) => fn.name === FN);
    assert.equal(listed?.artifacts.wasm?.sha256, await sha256(path.join(factorialDir, `${FN}.wasm`)));
    assert.deepEqual([listed?.artifacts.native?.sha256, listed?.artifacts.native?.arch], [await sha256(path.join(factorialDir, 'build', `${FN}-${arch}`)), arch]);

    assert.equal(listed?.artifacts.component?.sha256, await sha256(path.join(factorialDir, `${FN}.component.wasm`)));
    for (const runtime of ['wasm', 'component', 'native'] as const) {
      const result = await server.client.invoke(FN, '170', runtime);
      assert.deepEqual([result.ok, result.output, result.start_source], [true, '7.257415615307994e+306', 'function'], runtime);
    }
  });

  test('nebula deploy DIR --no-native --no-component uploads only the module and prints one line per artifact', async () => {
    const dir = path.join(tmp, 'wasm-only', 'factorial-wasm');
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(factorialDir, `${FN}.wasm`), path.join(dir, 'factorial-wasm.wasm'));
    const out = await nebula('deploy', dir, '--no-native', '--no-component', '--target', server.url);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /^factorial-wasm +wasm +\d+\.\d KiB {2}.*factorial-wasm\.wasm {2}\(\d+ ms\)\ndeployed 1 function to http:\/\/127\.0\.0\.1:\d+ \((x64|arm64)\)\n$/);
    const [listed] = (await server.client.listFunctions()).filter((fn) => fn.name === 'factorial-wasm');
    assert.deepEqual(Object.keys(listed?.artifacts ?? {}), ['wasm']);
  });

  test('a component file is deployed by its magic and named without .component.wasm; a directory without one gets a note', async () => {
    const dir = path.join(tmp, 'component-file');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'fact-comp.component.wasm');
    await copyFile(path.join(factorialDir, `${FN}.component.wasm`), file);
    const report = await deployFunctions(server.client, [file]);
    assert.deepEqual(report.functions.map((fn) => [fn.name, fn.artifacts.map((a) => a.kind)]), [['fact-comp', ['component']]]);
    assert.equal((await server.client.invoke('fact-comp', '20', 'component')).output, '2.43290200817664e+18');

    const bare = path.join(tmp, 'no-component', 'no-comp');
    await mkdir(bare, { recursive: true });
    await copyFile(path.join(factorialDir, `${FN}.wasm`), path.join(bare, 'no-comp.wasm'));
    const out = await nebula('deploy', bare, '--no-native', '--target', server.url);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /note: no-comp: no component \(.*no-comp\.component\.wasm\); build one with nebula build/);
  });

  test('a directory without its native build fails before uploading anything, naming nebula build --arch', async () => {
    const dir = path.join(tmp, 'unbuilt', 'half-built');
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(factorialDir, `${FN}.wasm`), path.join(dir, 'half-built.wasm'));
    const out = await nebula('deploy', dir, '--target', server.url);
    assert.equal(out.code, 2);
    assert.equal(
      out.stderr,
      `nebula: ${dir} has no native executable for the target's architecture ${arch} (${path.join(dir, 'build', `half-built-${arch}`)})\n` +
        `  hint: Build it with: nebula build --arch ${arch} ${dir}   (or deploy only the .wasm with --no-native)\n`,
    );
    assert.equal((await server.client.listFunctions()).some((fn) => fn.name === 'half-built'), false, 'nothing was uploaded');
  });

  test('a directory that was never built names nebula build', async () => {
    const dir = path.join(tmp, 'never', 'never-built');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'never-built.c'), 'int main(void) { return 0; }\n');
    await assert.rejects(deployFunctions(server.client, [dir]), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.code, 'not-built');
      assert.equal(error.hint, `Build it first: nebula build ${dir}`);
      return true;
    });
  });
});

describe('deploying artifact files', () => {
  test('a .wasm and a native executable by path take their name from the file (or --name) and their kind from the magic', async () => {
    const files = path.join(tmp, 'files');
    await mkdir(files);
    const module = path.join(files, `${FN}-file.wasm`);
    const binary = path.join(files, `${FN}-file-${arch}`);
    await copyFile(path.join(factorialDir, `${FN}.wasm`), module);
    await copyFile(path.join(factorialDir, 'build', `${FN}-${arch}`), binary);
    const byName = await nebula('deploy', module, binary, '--target', server.url);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stderr, new RegExp(`^${FN}-file +wasm .*\\n${FN}-file +native .*\\ndeployed 1 function to `));

    const renamed = await nebula('deploy', binary, '--name', `${FN}-renamed`, '--target', server.url);
    assert.equal(renamed.code, 0, renamed.stderr);
    const listed = new Map((await server.client.listFunctions()).map((fn) => [fn.name, Object.keys(fn.artifacts).filter((k) => k !== 'docker')]));
    assert.deepEqual(listed.get(`${FN}-file`), ['wasm', 'native']);
    assert.deepEqual(listed.get(`${FN}-renamed`), ['native']);
    const result = await server.client.invoke(`${FN}-renamed`, '5', 'native');
    assert.equal(result.output, '120');
  });

  test('a file of unknown kind and a file name that is no function name exit 2 naming the file or --name', async () => {
    const text = path.join(tmp, 'notes.txt');
    await writeFile(text, 'hello');
    const unknown = await nebula('deploy', text, '--target', server.url);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^nebula: .*notes\.txt is not an artifact Nebula can deploy\n {2}hint: Pass a WebAssembly module/);

    const badName = path.join(tmp, 'Bad_Name.wasm');
    await copyFile(path.join(factorialDir, `${FN}.wasm`), badName);
    const bad = await nebula('deploy', badName, '--target', server.url);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot take a function name from the file name "Bad_Name\.wasm".*\n {2}hint: Pass --name NAME/);
  });

  test('an executable for another architecture is refused locally, naming nebula build --arch', async () => {
    const other = arch === 'x64' ? 'arm64' : 'x64';
    const [fn] = await buildFunctions([factorialDir], { arch: other, native: true });
    assert.ok(fn?.native);
    await assert.rejects(deployFunctions(server.client, [fn.native.path], { name: 'wrong-arch' }), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `${fn.native?.path} is an executable for ${other}, but the target runs ${arch}`);
      assert.equal(error.hint, `Build for the target with: nebula build --arch ${arch}`);
      return true;
    });
  });

  test('a module the server rejects (422) exits 2 with the file, the function and the server\'s reason', async () => {
    const broken = path.join(tmp, 'broken.wasm');
    await writeFile(broken, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff]));
    const out = await nebula('deploy', broken, '--target', server.url);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^nebula: the target refused .*broken\.wasm as the wasm artifact of broken: PUT \/functions\/broken\/wasm → 422 /);
    await assert.rejects(deployFunctions(server.client, [broken]), (error: unknown) => error instanceof TargetError && error.status === 422);
  });
});

describe('targets', () => {
  test('an unreachable target exits 3 with a hint to start nebula serve', async () => {
    const port = await closedPort();
    const out = await nebula('deploy', factorialDir, '--target', `http://127.0.0.1:${port}`);
    assert.equal(out.code, 3);
    assert.match(out.stderr, new RegExp(`^nebula: cannot reach http://127\\.0\\.0\\.1:${port}: .*\\n  hint: Is \`nebula serve\` running there\\?`));
  });

  test('a target with a token refuses a deploy without it (exit 2, hint --token) and takes it with --token', async () => {
    const guarded = await startTestServer({ token: 'sesame' });
    try {
      const without = await nebula('deploy', factorialDir, '--no-native', '--target', guarded.url);
      assert.equal(without.code, 2);
      assert.match(without.stderr, / → 401 .*\n {2}hint: Pass the server token with --token or NEBULA_TOKEN\.\n$/);
      const withToken = await nebula('deploy', factorialDir, '--no-native', '--target', guarded.url, '--token', 'sesame');
      assert.equal(withToken.code, 0, withToken.stderr);
      assert.deepEqual((await guarded.client.listFunctions()).map((fn) => fn.name), [FN]);
    } finally {
      await guarded.close();
    }
  });
});

describe('docker', () => {
  test('the native deploy gives a docker image that answers the same, and a docker save archive deploys by path', async (t) => {
    if (!(await requireDockerOrSkip(t))) return;
    const docker = await startTestServer();
    try {
      await deployFunctions(docker.client, [factorialDir]);
      const [info] = await docker.client.listFunctions();
      const image = info?.artifacts.docker?.image;
      assert.ok(image, 'the server built an image from the native executable');
      const viaDocker = await docker.client.invoke(FN, '171', 'docker');
      assert.deepEqual([viaDocker.ok, viaDocker.output], [true, 'inf']);

      const archive = path.join(tmp, `${FN}-image.tar`);
      await pipeline(await new Docker().getImage(image).get(), createWriteStream(archive));
      const out = await nebula('deploy', archive, '--target', docker.url);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, new RegExp(`^${FN}-image +docker `));
      const fromArchive = await docker.client.invoke(`${FN}-image`, '20', 'docker');
      assert.deepEqual([fromArchive.ok, fromArchive.output], [true, '2.43290200817664e+18']);
      await docker.client.deleteFunction(`${FN}-image`);
      await docker.client.deleteFunction(FN);
    } finally {
      await docker.close();
    }
  });
});

