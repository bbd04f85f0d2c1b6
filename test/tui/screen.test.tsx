import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { chartLayout, Screen } from '../../src/tui/components.js';
import { initialState, reduce, type UiState } from '../../src/tui/state.js';
import { line } from './lines.js';

const ESC = String.fromCharCode(27);
const stripAnsi = (text: string): string => text.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, ''))).join('');

function stateWithRun(): UiState {
  let s = reduce(initialState(), {
    type: 'batch',
    actions: [
      { type: 'start', suite: 'quick', runId: 'quick-20250101-120000', target: 'http://127.0.0.1:3090', health: { ok: true, version: '0.1.0', arch: 'x64', runtimes: { wasm: true, component: true, docker: true, native: true } }, meter: 'simulated meter', total: 20, dir: '/r' },
      { type: 'clock', offsetUs: 12, uncertaintyUs: 40 },
      { type: 'phase', phase: 'measure', seconds: null, atMs: 0 },
      { type: 'progress', done: 10, total: 20, failed: 1, etaMs: 5_000, paused: false },
      { type: 'baseline', which: 'before', baseline: { seconds: 5, samples: 100, power_w: 2.5, spread_w: 0.01 }, driftW: null },
      {
        type: 'invocations',
        lines: [
          line({ startup: 500, total: 700, iso: 2 }),
          line({ startup: 700, total: 900, iso: 4 }),
          line({ runtime: 'component', startup: 2_100, total: 2_600, iso: 9 }),
          line({ runtime: 'docker', startup: 400_000, total: 450_000, iso: 380 }),
          line({ runtime: 'docker', ok: false, metrics: null, energy: null }),
        ],
      },
      { type: 'error', message: 'factorial on docker (input 3): POST → 504 timeout', fatal: false },
    ],
  });
  for (let t = 0; t < 60; t++) {
    s = reduce(s, { type: 'samples', samples: [{ t_start_us: t * 1e6, t_end_us: t * 1e6 + 500, power_w: t % 10 < 5 ? 2.5 : 4 }] });
  }
  return s;
}

test('the screen shows suite, target, progress with ETA, one row per function × runtime and the last error', () => {
  const { lastFrame, unmount } = render(<Screen state={stateWithRun()} showChart={false} />);
  const frame = lastFrame() ?? '';
  unmount();
  const rows = frame.split('\n');
  assert.equal(rows[0], 'nebula console — suite quick (quick-20250101-120000)');
  assert.equal(rows[1], 'target http://127.0.0.1:3090 (nebula 0.1.0) · clock offset 12 µs ± 40 µs');
  assert.equal(rows[2], 'meter simulated meter');
  assert.equal(rows[3], `${'█'.repeat(15)}${'░'.repeat(15)} 10/20 (50%) · ETA 5 s · measure · 1 failed`);
  assert.ok(frame.includes('function          runtime         n  p50 start  p50 total   p50 iso. E errors'), frame);
  assert.ok(frame.includes('factorial         wasm            2     600 µs     800 µs        3 µWh      0'), frame);
  assert.ok(frame.includes('factorial         component       1     2.1 ms     2.6 ms        9 µWh      0'), frame);
  assert.ok(frame.includes('factorial         docker          1     400 ms     450 ms      380 µWh      1'), frame);
  assert.ok(frame.includes('last error: factorial on docker (input 3): POST → 504 timeout'), frame);
  assert.ok(frame.includes('q stop · p pause'), frame);
});

test('the power chart draws the last minute with the baseline, current watts and sample rate', () => {
  const { lastFrame, unmount } = render(<Screen state={stateWithRun()} showChart={true} size={{ columns: 100, rows: 40 }} />);
  const frame = lastFrame() ?? '';
  unmount();
  assert.match(frame, /power \(last 60 s\) 4\.000 W now · 1 samples\/s · baseline 2\.500 W/);
  // asciichart's axis labels and line glyphs, scaled between the lowest and highest watts.
  assert.match(frame, /^ {3}4\.00 W +┤/m);
  assert.match(stripAnsi(frame), /^ {3}2\.50 W +┼/m);
  assert.ok(frame.split('\n').every((row) => stripAnsi(row).length <= 100), 'no row wraps');
  assert.ok(/[╭╮╰╯─]/.test(frame), frame);
});

test('before any data the screen says so instead of showing zeros', () => {
  const { lastFrame, unmount } = render(<Screen state={initialState()} showChart={true} />);
  const frame = lastFrame() ?? '';
  unmount();
  assert.ok(frame.includes('no invocations yet'), frame);
  assert.ok(frame.includes('power (last 60 s) no samples yet · 0 samples/s'), frame);
});

test('on an 80×24 terminal every row fits the width and the whole screen fits the height', () => {
  const { lastFrame, unmount } = render(<Screen state={stateWithRun()} showChart={true} size={{ columns: 80, rows: 24 }} />);
  const frame = lastFrame() ?? '';
  unmount();
  const rows = frame.split('\n').map(stripAnsi);
  assert.ok(rows.length <= 23, `${rows.length} rows:\n${frame}`);
  assert.ok(rows.every((row) => row.length <= 80), frame);
  assert.ok(/[╭╮╰╯─]/.test(frame), 'the chart still shows');
});

test('the chart gives way when the terminal is too short for it, and grows with a tall one', () => {
  assert.equal(chartLayout({ columns: 80, rows: 16 }, 12, false), null);
  assert.deepEqual(chartLayout({ columns: 80, rows: 20 }, 2, false), { height: 6, width: 68 });
  assert.deepEqual(chartLayout({ columns: 200, rows: 60 }, 12, true), { height: 10, width: 120 });
});

test('under load the screen shows the stage: achieved vs asked req/s, in flight, p50/p99, failures, drops and power', () => {
  const state = reduce(stateWithRun(), {
    type: 'load',
    status: { runtime: 'wasm', stage: 1, stages: 3, mode: 'open', askedRps: 50, concurrency: null, achievedRps: 48.4, sent: 120, completed: 115, failed: 2, dropped: 1, inFlight: 2, p50Us: 1200, p99Us: 5300, elapsedS: 2.4, seconds: 5, finished: false },
  });
  const { lastFrame, unmount } = render(<Screen state={state} showChart={false} />);
  const frame = stripAnsi(lastFrame() ?? '');
  unmount();
  assert.match(frame, /load wasm stage 2\/3 · 2\.4\/5 s · 50 req\/s asked · 48\.4 req\/s achieved/);
  assert.match(frame, /2 in flight · p50 1\.2 ms · p99 5\.3 ms · 115 completed · 2 failed · 1 dropped · 4\.00 W/);
  // A sequential run has no load line.
  assert.doesNotMatch(stripAnsi(render(<Screen state={stateWithRun()} showChart={false} />).lastFrame() ?? ''), /^load /m);
});

test('a drift large against the isolated power shows one short caveat line; a small one none', () => {
  const base = stateWithRun();
  const energies = (w: number) =>
    reduce(base, { type: 'energies', items: [{ function: 'factorial', runtime: 'wasm', isolatedUwh: 0.01, isolatedW: w }, { function: 'factorial', runtime: 'wasm', isolatedUwh: 0.01, isolatedW: w }] });
  const baselineAfter = (s: UiState, driftW: number): UiState =>
    reduce(s, { type: 'baseline', which: 'after', baseline: { seconds: 1, samples: 10, power_w: 2.5 + driftW, spread_w: 0.01 }, driftW });
  const drifted = baselineAfter(energies(0.05), 5);
  const { lastFrame, unmount } = render(<Screen state={drifted} showChart={true} size={{ columns: 80, rows: 40 }} />);
  const frame = stripAnsi(lastFrame() ?? '');
  unmount();
  assert.match(frame, /^caveat: idle drift \+5\.000 W vs isolated 0\.050 W: isolated energies uncertain$/m);
  assert.ok(frame.split('\n').every((row) => row.length <= 80), 'the caveat fits the width');
  const small = render(<Screen state={baselineAfter(energies(1), 0.1)} showChart={true} size={{ columns: 80, rows: 40 }} />);
  assert.doesNotMatch(stripAnsi(small.lastFrame() ?? ''), /caveat/);
  small.unmount();
});
