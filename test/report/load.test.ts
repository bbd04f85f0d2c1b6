import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors.js';
import { formatWarning, loadRun, loadRuns } from '../../src/report/load.js';
import { downsampleMinMax, mergeWindows, type Point } from '../../src/report/downsample.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'runs');
const PI = path.join(fixtures, 'pi-default-20240503-120000');
const VM = path.join(fixtures, 'vm-default-20240504-090000');
const CRASHED = path.join(fixtures, 'crashed-20240505-100000');

test('a completed run loads every line and sample with no warning, labelled by its target', async () => {
  const run = await loadRun(PI);
  assert.deepEqual(run.warnings, []);
  assert.equal(run.invocations.length, 132);
  assert.equal(run.samples.length, 611);
  assert.equal(run.finished, true);
  assert.equal(run.label, 'arm64 @ raspberrypi.local:3090');
  assert.equal((await loadRun(VM)).label, 'x64 @ 10.0.0.5:3090');
});

test('the crashed run keeps its complete lines and warns about each bad one with its line number', async () => {
  const run = await loadRun(CRASHED);
  assert.equal(run.invocations.length, 12);
  assert.equal(run.finished, false);
  assert.deepEqual(run.warnings.map(formatWarning), [
    'run.json status is "running": the run did not finish (it crashed, or is still going)',
    'invocations.jsonl:5: line 5 is not valid JSON; skipped',
    'invocations.jsonl:8: line 8 does not match the format (field "runtime": Invalid option: expected one of "wasm"|"component"|"docker"|"native"); skipped',
    'invocations.jsonl:15: line 15 is truncated (the run stopped while writing it); skipped',
    'summary.json is missing: the run did not finish; reporting what was recorded',
  ]);
});

test('two runs of the same target get their directory names in their labels', async () => {
  const runs = await loadRuns([PI, CRASHED]);
  assert.deepEqual(runs.map((r) => r.label), [
    'arm64 @ raspberrypi.local:3090 (pi-default-20240503-120000)',
    'arm64 @ raspberrypi.local:3090 (crashed-20240505-100000)',
  ]);
});

test('a path that is not a run directory is a UsageError naming it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-report-'));
  try {
    await assert.rejects(loadRun(dir), (e: unknown) => e instanceof UsageError && e.message.includes(dir) && /neither run\.json nor invocations\.jsonl/.test(e.message));
    await assert.rejects(loadRun(path.join(dir, 'nope')), (e: unknown) => e instanceof UsageError && e.message.includes('nope'));
    const file = path.join(dir, 'run.json');
    await writeFile(file, '{}');
    await assert.rejects(loadRun(file), (e: unknown) => e instanceof UsageError && /is not a directory/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run directory with only invocations.jsonl reports what is missing and is labelled by its name', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-report-'));
  try {
    await writeFile(path.join(dir, 'invocations.jsonl'), '\n');
    const run = await loadRun(dir);
    assert.equal(run.label, path.basename(dir));
    assert.deepEqual(run.warnings.map((w) => w.file), ['run.json', 'summary.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('min/max downsampling keeps every spike and the bucket count bounds the size', () => {
  const points: Point[] = Array.from({ length: 100_000 }, (_, i) => [i, i === 54_321 ? 99 : 2.5]);
  const out = downsampleMinMax(points, 500);
  assert.ok(out.length <= 1000, `${out.length} points`);
  assert.ok(out.some((p) => p[0] === 54_321 && p[1] === 99), 'the spike was lost');
  assert.deepEqual(downsampleMinMax([[0, 1], [1, 2]], 500), [[0, 1], [1, 2]]);
});

test('windows closer than the gap merge per key, others stay apart', () => {
  const merged = mergeWindows(
    [{ from: 0, to: 1, key: 0 }, { from: 1.05, to: 2, key: 0 }, { from: 2.01, to: 3, key: 1 }, { from: 10, to: 11, key: 1 }],
    0.1,
  );
  assert.deepEqual(merged, [{ from: 0, to: 2, key: 0 }, { from: 2.01, to: 3, key: 1 }, { from: 10, to: 11, key: 1 }]);
});
