import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRun } from '../../src/report/compare.js';
import { serialize as markdown } from '../../src/report/export/markdown.js';
import type { LoadedRun } from '../../src/report/load.js';
import { summarize } from '../../src/report/summary.js';
import type { InvocationLine } from '../../src/protocol/results.js';
import type { Runtime } from '../../src/protocol/api.js';
import { line } from './lines.js';

/** A run with both start modes: prewarmed start-ups a tenth of cold for docker, half for wasm. */
function lines(): InvocationLine[] {
  const out: InvocationLine[] = [];
  let seq = 0;
  for (const input of ['10', '20']) {
    for (let rep = 0; rep < 12; rep++) {
      for (const [runtime, cold] of [['wasm', 1000], ['docker', 200_000]] as Array<[Runtime, number]>) {
        const jitter = rep * 3;
        out.push({ ...line({ runtime, input, startup: cold + jitter, seq: seq++ }), mode: 'cold' });
        out.push({ ...line({ runtime, input, startup: (runtime === 'docker' ? cold / 10 : cold / 2) + jitter, seq: seq++ }), mode: 'prewarmed', prepared: rep !== 0 });
      }
    }
  }
  return out;
}

function run(invocations: InvocationLine[]): LoadedRun {
  return { dir: '/tmp/modes', label: 'modes', run: null, invocations, samples: [], gaps: [], stages: [], finished: true, warnings: [], observed: null };
}

test('cold vs prewarmed: per runtime, the ratio prewarmed / cold with its CI, and how many calls found a prepared instance', () => {
  const report = compareRun(run(lines()), { resamples: 300 });
  const startup = report.modes.filter((m) => m.metric === 'startup_us');
  assert.deepEqual(startup.map((m) => m.runtime), ['wasm', 'docker']);
  const docker = startup.find((m) => m.runtime === 'docker')!;
  assert.ok(Math.abs(docker.ratio.estimate - 0.1) < 0.01, String(docker.ratio.estimate));
  assert.ok(docker.ratio.low <= docker.ratio.estimate && docker.ratio.estimate <= docker.ratio.high);
  assert.equal(docker.prewarmed.n, 24);
  assert.equal(docker.prewarmed.prepared, 22);
  const wasm = startup.find((m) => m.runtime === 'wasm')!;
  assert.ok(Math.abs(wasm.ratio.estimate - 0.5) < 0.02, String(wasm.ratio.estimate));
  // Runtimes are compared on the cold invocations only: docker/wasm start-up ≈ 200×, not a mix of modes.
  const headline = report.headlines.find((h) => h.metric === 'startup_us' && h.runtime === 'docker')!;
  assert.ok(Math.abs(headline.ratio.estimate - 200) < 5, String(headline.ratio.estimate));
  const md = markdown({ report: { baseline: 'wasm', level: 0.95, seed: 1, resamples: 300, targets: [report] }, runs: [run(lines())] });
  assert.match(md, /### Cold vs prewarmed/);
  assert.match(md, /\| docker \| startup \| 200 ms .*| 20 ms .*\| 0\.1.*\| 22 of 24 \|/);
});

test('a run of one start mode has no modes table; the summary keeps cold and prewarmed groups apart', () => {
  const cold = lines().filter((l) => l.mode === 'cold');
  assert.deepEqual(compareRun(run(cold), { resamples: 50 }).modes, []);
  const groups = summarize(lines()).groups.map((g) => `${g.runtime} ${g.mode ?? 'cold'} ${g.measured} ${g.prepared ?? '-'}`);
  assert.deepEqual(groups, ['wasm cold 24 -', 'wasm prewarmed 24 22', 'docker cold 24 -', 'docker prewarmed 24 22']);
});
