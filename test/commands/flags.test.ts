import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberFlag } from '../../src/commands/flags.js';
import { UsageError } from '../../src/errors.js';

test('numberFlag parses within its rule and is undefined when the flag is absent', () => {
  assert.equal(numberFlag('3090', '--port', { min: 0, max: 65535, integer: true }), 3090);
  assert.equal(numberFlag('2.5', '--idle-w', { min: 0 }), 2.5);
  assert.equal(numberFlag(undefined, '--port', { min: 0 }), undefined);
});

test('numberFlag rejects out-of-range, fractional, empty and non-numeric text, naming flag and rule', () => {
  const cases: Array<[unknown, string]> = [
    ['70000', '--port must be a whole number from 0 to 65535, got "70000"'],
    ['1.5', '--port must be a whole number from 0 to 65535, got "1.5"'],
    ['', '--port must be a whole number from 0 to 65535, got ""'],
    ['abc', '--port must be a whole number from 0 to 65535, got "abc"'],
  ];
  for (const [raw, message] of cases) {
    assert.throws(() => numberFlag(raw, '--port', { min: 0, max: 65535, integer: true }), (e: unknown) => e instanceof UsageError && e.message === message);
  }
  assert.throws(() => numberFlag('-1', '--idle-w', { min: 0 }), { message: '--idle-w must be a number ≥ 0, got "-1"' });
});
