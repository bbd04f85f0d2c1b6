import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSummaryMarkdown, summarize } from '../../src/report/summary.js';
import { line } from './lines.js';

const lines = [
  line({ runtime: 'wasm', startup: 9999, warmup: true }),
  line({ runtime: 'wasm', startup: 150, energy: 5, isolated: 2 }),
  line({ runtime: 'wasm', startup: 170, energy: 6, isolated: 2.5, note: 'window shorter than the sampling interval' }),
  line({ runtime: 'wasm', startup: 160, energy: 5.5, isolated: 2.2 }),
  line({ runtime: 'docker', startup: 400_000, energy: 1000, isolated: 380 }),
  line({ runtime: 'docker', startup: 420_000, energy: 1100, isolated: 390 }),
  line({ runtime: 'docker', startup: 1, ok: false }),
];

test('summarize excludes and counts warm-ups and failures per function × runtime', () => {
  const s = summarize(lines);
  assert.equal(s.run_id, 'test-run');
  assert.deepEqual(s.totals, { invocations: 7, measured: 5, warmups: 1, errors: 1 });
  const [wasm, docker] = s.groups;
  assert.equal(wasm?.runtime, 'wasm');
  assert.deepEqual([wasm?.measured, wasm?.warmups, wasm?.errors], [3, 1, 0]);
  assert.equal(wasm?.metrics.startup_us.median, 160);
  assert.equal(wasm?.metrics.startup_us.max, 170, 'the warm-up (9999 µs) leaked into the statistics');
  assert.equal(wasm?.metrics.total_us.median, 260);
  assert.equal(wasm?.metrics.isolated_energy_uwh.median, 2.2);
  assert.equal(wasm?.energy_notes, 1);
  assert.deepEqual([docker?.measured, docker?.errors], [2, 1]);
  assert.equal(docker?.metrics.startup_us.median, 410_000);
  assert.equal(docker?.metrics.energy_uwh.median, 1050);
});

test('summary.md has one row per function × runtime with p50 figures in their units', () => {
  const md = renderSummaryMarkdown(summarize(lines));
  assert.match(md, /7 invocations: 5 measured, 1 warm-up \(excluded\), 1 failed \(excluded\)\./);
  assert.ok(md.includes('| fibonacci-recursive | wasm | 3 | 0 | 1 | 160 µs |'), md);
  assert.ok(md.includes('| fibonacci-recursive | docker | 2 | 1 | 0 | 410 ms |'), md);
  assert.ok(md.includes('| 1,050 µWh | 385 µWh |'), md);
});

test('a run without a meter has no energy columns and an empty run says so', () => {
  const md = renderSummaryMarkdown(summarize([line({ startup: 150 })]));
  assert.ok(!md.includes('energy'), md);
  assert.match(renderSummaryMarkdown(summarize([])), /No invocations were recorded/);
});
