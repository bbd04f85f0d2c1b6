import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planInvocations, type PlannedInvocation } from '../../src/console/plan.js';
import type { SuiteFunction } from '../../src/console/suite.js';

const functions: SuiteFunction[] = [
  { name: 'fib', inputs: ['1', '2'], runtimes: ['wasm', 'docker'], modes: ['cold'] },
  { name: 'fact', inputs: ['3'], runtimes: ['native'], modes: ['cold'] },
];
const row = (p: PlannedInvocation): string => `${p.function} ${p.runtime} ${p.input} ${p.warmup ? 'w' : 'r'}${p.rep}`;

test('interleaved: warm-ups per (function, runtime) with the first input, then each input and repetition on every runtime in turn', () => {
  const plan = planInvocations({ functions, repetitions: 2, warmup: 1, order: 'interleaved' });
  assert.deepEqual(plan.map(row), [
    'fib wasm 1 w0',
    'fib docker 1 w0',
    'fib wasm 1 r0',
    'fib docker 1 r0',
    'fib wasm 1 r1',
    'fib docker 1 r1',
    'fib wasm 2 r0',
    'fib docker 2 r0',
    'fib wasm 2 r1',
    'fib docker 2 r1',
    'fact native 3 w0',
    'fact native 3 r0',
    'fact native 3 r1',
  ]);
});

test('blocked: each runtime warms up right before its own whole sweep of the function', () => {
  const plan = planInvocations({ functions, repetitions: 2, warmup: 2, order: 'blocked' });
  assert.deepEqual(plan.map(row), [
    'fib wasm 1 w0',
    'fib wasm 1 w1',
    'fib wasm 1 r0',
    'fib wasm 1 r1',
    'fib wasm 2 r0',
    'fib wasm 2 r1',
    'fib docker 1 w0',
    'fib docker 1 w1',
    'fib docker 1 r0',
    'fib docker 1 r1',
    'fib docker 2 r0',
    'fib docker 2 r1',
    'fact native 3 w0',
    'fact native 3 w1',
    'fact native 3 r0',
    'fact native 3 r1',
  ]);
});

test('warmup 0 plans no warm-ups', () => {
  const plan = planInvocations({ functions, repetitions: 1, warmup: 0, order: 'blocked' });
  assert.equal(plan.filter((p) => p.warmup).length, 0);
  assert.equal(plan.length, 2 * 2 + 1);
});

test('modes: each runtime runs cold then prewarmed for every input and repetition; warm-ups per mode too', () => {
  const both: SuiteFunction[] = [{ name: 'fib', inputs: ['1'], runtimes: ['wasm', 'docker'], modes: ['cold', 'prewarmed'] }];
  const label = (p: PlannedInvocation): string => `${row(p)} ${p.mode ?? 'cold'}`;
  assert.deepEqual(planInvocations({ functions: both, repetitions: 2, warmup: 1, order: 'interleaved' }).map(label), [
    'fib wasm 1 w0 cold',
    'fib wasm 1 w0 prewarmed',
    'fib docker 1 w0 cold',
    'fib docker 1 w0 prewarmed',
    'fib wasm 1 r0 cold',
    'fib wasm 1 r0 prewarmed',
    'fib docker 1 r0 cold',
    'fib docker 1 r0 prewarmed',
    'fib wasm 1 r1 cold',
    'fib wasm 1 r1 prewarmed',
    'fib docker 1 r1 cold',
    'fib docker 1 r1 prewarmed',
  ]);
  assert.deepEqual(planInvocations({ functions: both, repetitions: 1, warmup: 1, order: 'blocked' }).map(label), [
    'fib wasm 1 w0 cold',
    'fib wasm 1 r0 cold',
    'fib wasm 1 w0 prewarmed',
    'fib wasm 1 r0 prewarmed',
    'fib docker 1 w0 cold',
    'fib docker 1 r0 cold',
    'fib docker 1 w0 prewarmed',
    'fib docker 1 r0 prewarmed',
  ]);
});
