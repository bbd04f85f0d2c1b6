import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateThresholds } from '../../src/console/thresholds.js';
import { ThresholdSchema } from '../../src/console/suite-schema.js';
import type { InvocationLine } from '../../src/protocol/results.js';
import type { Runtime } from '../../src/protocol/api.js';
import { line } from '../report/lines.js';

const at = (runtime: Runtime, startup: number, mode: 'cold' | 'prewarmed'): InvocationLine => ({ ...line({ runtime, startup }), mode });
const lines = [at('wasm', 1000, 'cold'), at('docker', 300_000, 'cold'), at('wasm', 500, 'prewarmed'), at('docker', 400, 'prewarmed')];

test('thresholds judge the cold invocations of a run with both modes, or the mode they name', () => {
  const cold = ThresholdSchema.parse({ ratio: 'startup_us', of: 'docker', over: 'wasm', above: 10 });
  const warm = ThresholdSchema.parse({ ratio: 'startup_us', of: 'docker', over: 'wasm', above: 10, mode: 'prewarmed' });
  const [c, w] = evaluateThresholds([cold, warm], lines);
  assert.equal(c!.value, 300);
  assert.equal(c!.passed, true);
  assert.equal(w!.value, 0.8);
  assert.equal(w!.passed, false);
  assert.match(w!.label, /\(prewarmed\)/);
  // A prewarmed-only run is judged on what it has.
  const only = evaluateThresholds([cold], lines.filter((l) => l.mode === 'prewarmed'));
  assert.equal(only[0]!.value, 0.8);
});
