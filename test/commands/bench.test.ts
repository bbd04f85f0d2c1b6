import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestServer } from '../helpers/server.js';
import { onlyRunDir, runCli, serverWith, tempDir } from '../console/helpers.js';

let server: TestServer;
let dir: string;

before(async () => {
  server = await serverWith(['factorial']);
  dir = await tempDir('nebula-bench-');
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('nebula bench compares runtimes without a suite file, hyperfine-style, and keeps the run', async () => {
  const out = join(dir, 'r');
  // The target comes from NEBULA_TARGET (commander Option.env), as a user would export it once.
  const { code, stdout, stderr } = await runCli(['bench', 'factorial', '20', '--runtimes', 'wasm,native', '-n', '3', '--out', out], {
    NEBULA_TARGET: server.url,
  }).done;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Benchmark 1: factorial 20 on wasm\n {2}Time \(median ± MAD\): +\S+ \S+ ± \S+ \S+ +startup \S+ \S+\n {2}Range \(min … max\): +\S+ \S+ … \S+ \S+ +3 runs$/m);
  assert.match(stdout, /^Benchmark 2: factorial 20 on native$/m);
  assert.match(stdout, /^ {2}factorial 20 on (wasm|native) ran\n {4}\S+× \[\S+, \S+\] faster than on (wasm|native) \(95% CI, p [<=] \S+\)$/m);
  assert.match(stdout, /^Run completed: 8 invocations, 0 failed\. Results in /m);
  const runDir = await onlyRunDir(out);
  assert.match(runDir, /bench-factorial-\d{8}-\d{6}$/);
  assert.ok(existsSync(join(runDir, 'summary.md')));
});

test('nebula bench refuses an unknown runtime (exit 2, naming --runtimes) and a function not deployed (exit 4)', async () => {
  const bad = await runCli(['bench', 'factorial', '3', '--runtimes', 'wasm,jvm', '--target', server.url]).done;
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^nebula: --runtimes: "jvm" is unknown; use any of wasm, component, docker, native$/m);
  const missing = await runCli(['bench', 'prime-number', '3', '--target', server.url, '--out', join(dir, 'never')]).done;
  assert.equal(missing.code, 4, missing.stderr);
  assert.match(missing.stderr, /prime-number: not deployed/);
});
