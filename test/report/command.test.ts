import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nebula } from './cli.js';

const fixtures = path.join('test', 'fixtures', 'runs');
const PI = path.join(fixtures, 'pi-default-20240503-120000');
const CRASHED = path.join(fixtures, 'crashed-20240505-100000');

test('nebula report on a crashed run prints what it has and warns on stderr with line numbers', async () => {
  const r = await nebula('report', CRASHED);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^# Nebula report/);
  assert.match(r.stdout, /12 invocations: 9 measured, 3 warm-up and 0 failed \(excluded\)/);
  const warnings = r.stderr.trim().split('\n');
  assert.deepEqual(warnings, [
    `nebula: warning: ${CRASHED}/run.json status is "running": the run did not finish (it crashed, or is still going)`,
    `nebula: warning: ${CRASHED}/invocations.jsonl:5: line 5 is not valid JSON; skipped`,
    `nebula: warning: ${CRASHED}/invocations.jsonl:8: line 8 does not match the format (field "runtime": Invalid option: expected one of "wasm"|"component"|"docker"|"native"); skipped`,
    `nebula: warning: ${CRASHED}/invocations.jsonl:15: line 15 is truncated (the run stopped while writing it); skipped`,
    `nebula: warning: ${CRASHED}/summary.json is missing: the run did not finish; reporting what was recorded`,
  ]);
});

test('nebula report --format csv --out FILE writes the file and says so; the same seed gives the same JSON', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-report-'));
  try {
    const out = path.join(dir, 'r.csv');
    const r = await nebula('report', PI, '--format', 'csv', '--out', out);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `nebula: wrote ${out}\n`);
    assert.equal((await readFile(out, 'utf8')).split('\r\n').length, 134);
    const a = await nebula('report', PI, '--format', 'json', '--resamples', '300', '--seed', '5');
    const b = await nebula('report', PI, '--format', 'json', '--resamples', '300', '--seed', '5');
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('nebula report on a directory that is not a run exits 2 naming it', async () => {
  const r = await nebula('report', 'test/report');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nebula: test\/report is not a run directory: it has neither run\.json nor invocations\.jsonl/);
  assert.match(r.stderr, /hint: pass a directory written by `nebula console`/);
});

test('nebula report rejects an unknown --baseline with exit 2 naming the flag', async () => {
  const r = await nebula('report', PI, '--baseline', 'podman');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--baseline must be one of wasm, component, docker, native, got "podman"/);
});
