import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalOffsets } from '../../../src/console/load/schedule.js';
import { stagesOf } from '../../../src/console/load/stages.js';
import { loadSuite, parseSuite } from '../../../src/console/suite.js';
import { SuiteError } from '../../../src/errors.js';

const HEAD = 'name: t\nruntimes: [wasm]\nfunctions:\n  - { name: fibonacci-recursive, inputs: [1] }\n';

function loadError(load: string): string {
  try {
    parseSuite(`${HEAD}load:${load}\n`, 'suites/t.yaml');
  } catch (error) {
    assert.ok(error instanceof SuiteError, String(error));
    assert.equal(error.exitCode, 2);
    return error.message;
  }
  assert.fail('the suite was accepted');
}

test('load defaults to sequential and its three forms become stages', () => {
  assert.equal(parseSuite(HEAD, null).load, 'sequential');
  assert.deepEqual(stagesOf(parseSuite(`${HEAD}load: sequential\n`, null).load), []);
  assert.deepEqual(stagesOf(parseSuite(`${HEAD}load: { concurrency: 8, seconds: 60 }\n`, null).load), [{ index: 0, mode: 'closed', concurrency: 8, seconds: 60 }]);
  assert.deepEqual(stagesOf(parseSuite(`${HEAD}load: { rate: 20, seconds: 60 }\n`, null).load), [
    { index: 0, mode: 'open', rate: 20, seconds: 60, arrivals: 'constant', maxInFlight: 256, seed: 1 },
  ]);
  const sweep = parseSuite(`${HEAD}load:\n  arrivals: poisson\n  max_in_flight: 16\n  stages:\n    - { rate: 5, seconds: 60 }\n    - { rate: 50, seconds: 30 }\n`, null).load;
  assert.deepEqual(stagesOf(sweep), [
    { index: 0, mode: 'open', rate: 5, seconds: 60, arrivals: 'poisson', maxInFlight: 16, seed: 1 },
    { index: 1, mode: 'open', rate: 50, seconds: 30, arrivals: 'poisson', maxInFlight: 16, seed: 2 },
  ]);
});

test('bad load sections are errors naming the file, line, column and field', () => {
  assert.equal(loadError(' sequentail'), 'suites/t.yaml:5:7: load: expected `sequential` or a mapping with `concurrency`, `rate` or `stages` (see docs/suites.md, "Load")');
  assert.equal(loadError(' { rate: 5 }'), 'suites/t.yaml:5:7: load: `rate` needs `seconds`');
  assert.equal(loadError(' { rate: 5, seconds: 1, concurrency: 2 }'), 'suites/t.yaml:5:15: load.rate: give only one of `concurrency` and `rate`');
  assert.equal(loadError(' { rate: 5, seconds: 1, arival: poisson }'), 'suites/t.yaml:5:30: load.arival: unknown key (did you mean "arrivals"?)');
  assert.equal(loadError(' { rate: 5, seconds: 1, arrivals: uniform }'), 'suites/t.yaml:5:40: load.arrivals: must be one of "constant", "poisson"');
  assert.equal(loadError(' { concurrency: 2, seconds: 1, max_in_flight: 4 }'), 'suites/t.yaml:5:52: load.max_in_flight: `max_in_flight` applies to open-loop load (`rate` or `stages`), not to `concurrency`');
  assert.equal(loadError(' { stages: [{ rate: 5, seconds: 1 }], seconds: 3 }'), 'suites/t.yaml:5:53: load.seconds: each stage has its own `seconds`');
  assert.equal(loadError('\n  stages:\n    - { rate: 5, seconds: 1 }\n    - { rate: -1, seconds: 1 }'), 'suites/t.yaml:8:15: load.stages[1].rate: must be > 0');
  assert.equal(loadError('\n  stages:\n    - { rate: 5, secs: 1 }'), 'suites/t.yaml:7:7: load.stages[0].seconds: is required (expected number)');
  assert.equal(loadError(' {}'), 'suites/t.yaml:5:7: load: give one of `concurrency`, `rate` or `stages`');
  assert.equal(loadError(' { rate: 1000, seconds: 3600 }'), 'suites/t.yaml:5:7: load: the stages schedule about 3,600,000 requests, more than the limit of 1,000,000');
  assert.equal(loadError(' { concurrency: 0.5, seconds: 1 }'), 'suites/t.yaml:5:22: load.concurrency: expected an integer');
});

test('constant arrivals are evenly spaced and number rate × seconds', () => {
  const offsets = arrivalOffsets(1000, 2, 'constant');
  assert.equal(offsets.length, 2000);
  assert.equal(offsets[0], 0);
  assert.equal(offsets[1999], 1999 * 1000);
  assert.equal(arrivalOffsets(3, 1, 'constant').length, 3);
});

test('poisson arrivals: the same seed gives the same schedule, another seed another, and the rate holds on average', () => {
  const a = arrivalOffsets(100, 100, 'poisson', 7);
  assert.deepEqual(a, arrivalOffsets(100, 100, 'poisson', 7));
  assert.notDeepEqual(a.slice(0, 10), arrivalOffsets(100, 100, 'poisson', 8).slice(0, 10));
  // 10,000 expected; a Poisson count's sd is 100, so ±500 is five sd.
  assert.ok(Math.abs(a.length - 10_000) < 500, String(a.length));
  assert.ok(a.every((t, i) => t < 100e6 && (i === 0 || t >= a[i - 1]!)));
});

test('suites/load.yaml is a short open-loop sweep over wasm, docker and native', async () => {
  const suite = await loadSuite('suites/load.yaml');
  assert.deepEqual(suite.runtimes, ['wasm', 'docker', 'native']);
  const stages = stagesOf(suite.load);
  assert.ok(stages.length >= 2 && stages.every((s) => s.mode === 'open'));
  // Short: the stages of all three runtimes together stay well under a minute.
  assert.ok(3 * stages.reduce((t, s) => t + s.seconds, 0) <= 20);
});
