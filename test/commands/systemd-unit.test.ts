import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, runCli } from '../console/helpers.js';

const exec = promisify(execFile);

async function systemdAnalyze(): Promise<boolean> {
  return exec('systemd-analyze', ['--version']).then(
    () => true,
    () => false,
  );
}

test('serve --systemd-unit prints a unit for this Node and package: token from an EnvironmentFile, restarts, journal, and systemd-analyze verify passes', async () => {
  const { code, stdout, stderr } = await runCli(['serve', '--systemd-unit', '--host', '0.0.0.0', '--port', '4090'], { NEBULA_TOKEN: 'never-in-the-unit' }).done;
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stdout, /never-in-the-unit/, 'the token stays out of the unit');
  const exec0 = /^ExecStart=(\S+) (\S+) serve (.*)$/m.exec(stdout);
  assert.ok(exec0, stdout);
  assert.equal(exec0[1], process.execPath);
  assert.equal(exec0[2], join(ROOT, 'bin', 'nebula.js'));
  assert.match(exec0[3]!, /^--host 0\.0\.0\.0 --port 4090 --store \/var\/lib\/nebula\/store /);
  for (const line of ['EnvironmentFile=/etc/nebula/serve.env', 'Restart=on-failure', 'StandardOutput=journal', 'StandardError=journal', 'StateDirectory=nebula', 'WantedBy=multi-user.target']) {
    assert.ok(stdout.split('\n').includes(line), `${line} in:\n${stdout}`);
  }
  if (!(await systemdAnalyze())) {
    assert.fail('systemd-analyze is not installed (apt-get install systemd): the unit cannot be verified');
  }
  const dir = await mkdtemp(join(tmpdir(), 'nebula-unit-'));
  try {
    const unit = join(dir, 'nebula-serve.service');
    await writeFile(unit, stdout);
    const verified = await exec('systemd-analyze', ['verify', unit]).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stderr.split('\n').filter((l) => l.includes('nebula-serve.service')).join('\n'), '', 'no warning about the unit');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a suite with meter: required refuses to start without --meter or NEBULA_METER (exit 2, naming both)', async () => {
  assert.equal(process.env.NEBULA_METER, undefined, 'run the tests without NEBULA_METER set');
  const { code, stderr } = await runCli(['console', 'suites/pi-energy.yaml', '--ci', '--target', 'http://127.0.0.1:1', '--out', join(tmpdir(), 'nebula-never')]).done;
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^nebula: suite suites\/pi-energy\.yaml measures energy and needs a meter: none was given\n {2}hint: Pass --meter .* or set NEBULA_METER/m);
});
