/** Start-up by predecessor: shown and warned about only when the difference is large and clear. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Runtime } from '../../src/protocol/api.js';
import type { InvocationLine } from '../../src/protocol/results.js';
import { predecessorWarnings, renderPredecessorsMarkdown, startupByPredecessor } from '../../src/report/predecessor.js';
import { renderSummaryMarkdown, summarize } from '../../src/report/summary.js';
import { line } from './lines.js';

/** `n` wasm start-ups after `predecessor`, spread ±5% around `around` µs. */
function after(predecessor: Runtime | null, around: number, n: number, extra: Partial<InvocationLine> = {}): InvocationLine[] {
  return Array.from({ length: n }, (_, i) => ({ ...line({ startup: Math.round(around * (0.95 + (0.1 * i) / n)), seq: i }), predecessor, ...extra }));
}

test('wasm twice as slow after native as after wasm: a table row, a warning naming both groups, and the summary warns', () => {
  const lines = [...after('wasm', 900, 12), ...after('native', 2000, 12)];
  const [effect] = startupByPredecessor(lines);
  assert.equal(effect?.runtime, 'wasm');
  assert.deepEqual(effect?.groups.map((g) => [g.predecessor, g.n]), [['wasm', 12], ['native', 12]]);
  assert.ok(effect!.significant && effect!.ratio > 2 && effect!.p < 0.01);
  const [warning] = predecessorWarnings([effect!]);
  assert.match(warning ?? '', /^wasm start-up depends on what ran before it: p50 (1\.9\d|2(\.\d+)?) ms after native \(n=12\) vs [89]\d\d µs after wasm \(n=12\)/);
  const table = renderPredecessorsMarkdown([effect!]).join('\n');
  assert.match(table, /\| runtime \| after wasm \| after native \| slowest \/ fastest \| p \|/);
  assert.match(table, /\| wasm \| [89]\d\d µs \(12\) \| (1\.9\d|2(\.\d+)?) ms \(12\) \| 2\.\d+× ⚠ \| < 0\.001 \|/);
  const summary = summarize(lines);
  assert.equal(summary.interference?.length, 1);
  assert.match(renderSummaryMarkdown(summary), /> \*\*Warning:\*\* wasm start-up depends on what ran before it/);
});

test('the same start-up after any predecessor, a small difference, or too few calls: no warning and no table', () => {
  const same = [...after('wasm', 900, 12), ...after('native', 910, 12)];
  const small = [...after('wasm', 900, 30), ...after('native', 1000, 30)]; // 1.11×: clear but small
  const few = [...after('wasm', 900, 12), ...after('native', 5000, 4)]; // large, but 4 < MIN_GROUP
  for (const lines of [same, small, few]) {
    const effects = startupByPredecessor(lines);
    assert.deepEqual(predecessorWarnings(effects), []);
    assert.deepEqual(renderPredecessorsMarkdown(effects), []);
    assert.equal(summarize(lines).interference, undefined);
  }
});

test('warm-ups, failures, the first call and lines from runs without predecessors are left out', () => {
  const lines = [
    ...after('wasm', 900, 12),
    ...after('native', 5000, 12, { warmup: true }),
    ...after('native', 5000, 12, { ok: false }),
    ...after(null, 5000, 12),
    ...after('wasm', 5000, 12).map(({ predecessor: _, ...rest }) => rest),
  ];
  const [effect] = startupByPredecessor(lines);
  assert.deepEqual(effect?.groups.map((g) => [g.predecessor, g.n]), [['wasm', 12]]);
  assert.equal(effect?.significant, false);
});
