import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meterAttribution } from '../../src/console/energy.js';
import { EnergyLedger } from '../../src/console/energy-ledger.js';
import type { InvocationLine, Sample } from '../../src/protocol/results.js';
import { line as baseLine } from '../tui/lines.js';

/** A finished invocation whose function ran over [start, end] on the server clock (offset 0). */
function line(seq: number, start: number, end: number): InvocationLine {
  return baseLine({
    seq,
    energy: undefined,
    clock: { offset_us: 0, uncertainty_us: 0 },
    metrics: { received_us: start - 10, ready_us: start - 5, started_us: start, ended_us: end, startup_us: 10, exec_us: end - start, total_us: end - start + 10 },
  });
}

/** A read of constant `w` watts taking 100 µs, ending at t. */
const sample = (t: number, w = 5): Sample => ({ t_start_us: t - 100, t_end_us: t, power_w: w });

test('the ledger holds a window until a sample starts after its end, then attributes it (5 W × 1 ms = 5000/3600 µWh)', () => {
  const ledger = new EnergyLedger(meterAttribution);
  assert.deepEqual(ledger.addSample(sample(1000)), []);
  assert.deepEqual(ledger.addInvocation(line(0, 2000, 3000)), []);
  assert.equal(ledger.pending, 1);
  // Starts at 2900 (before the end): not yet.
  assert.deepEqual(ledger.addSample(sample(3000)), []);
  const out = ledger.addSample(sample(4000));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.seq, 0);
  assert.equal(out[0]!.run_id, 'r');
  assert.ok(Math.abs(out[0]!.energy!.energy_uwh! - 5000 / 3600) < 1e-12, JSON.stringify(out[0]));
  assert.equal(out[0]!.energy_thesis!.method, 'thesis');
  assert.equal(ledger.pending, 0);
});

test('records come out in seq order: a failed request (no stamps) waits behind an earlier window and gets null energy', () => {
  const ledger = new EnergyLedger(meterAttribution);
  ledger.addSample(sample(1000));
  ledger.addInvocation(line(0, 2000, 3000));
  assert.deepEqual(ledger.addInvocation({ ...line(1, 0, 0), ok: false, metrics: null }), []);
  const out = ledger.addSample(sample(5000));
  assert.deepEqual(out.map((r) => [r.seq, r.energy === null]), [[0, false], [1, true]]);
});

test('a gap that covers a window releases it with the gap named in its note; flush() attributes whatever is left', () => {
  const ledger = new EnergyLedger(meterAttribution);
  ledger.addSample(sample(1000));
  ledger.addInvocation(line(0, 2000, 3000));
  const out = ledger.addGap({ gap: true, from_us: 1000, to_us: 9000, reason: 'meter read did not finish within 2000 ms' });
  assert.equal(out.length, 1);
  assert.equal(out[0]!.energy!.energy_uwh, null);
  assert.match(out[0]!.energy!.note!, /meter gap during the window \(meter read did not finish/);
  ledger.addInvocation(line(1, 10_000, 11_000));
  assert.equal(ledger.pending, 1);
  const left = ledger.flush();
  assert.deepEqual(left.map((r) => r.seq), [1]);
  assert.equal(ledger.pending, 0);
});

test('the baseline set before a window is subtracted from its energy', () => {
  const ledger = new EnergyLedger(meterAttribution);
  ledger.setBaseline(2);
  ledger.addSample(sample(1000));
  ledger.addInvocation(line(0, 2000, 3000));
  const [r] = ledger.addSample(sample(4000));
  assert.ok(Math.abs(r!.energy!.isolated_energy_uwh! - 3000 / 3600) < 1e-12);
});

test('after thousands of samples (pruned) a window is still attributed from the samples around it', () => {
  const ledger = new EnergyLedger(meterAttribution);
  for (let t = 1000; t <= 20_000_000; t += 1000) ledger.addSample(sample(t, t < 19_000_000 ? 1 : 7));
  // Already covered: attributed as it is added.
  const [r] = ledger.addInvocation(line(0, 19_500_000, 19_600_000));
  assert.ok(Math.abs(r!.energy!.avg_power_w! - 7) < 1e-12, JSON.stringify(r));
});

test('each invocation gets two windows: the run (started → the function\'s own end stamp) and the whole invocation (received → the reply at the bench)', () => {
  const ledger = new EnergyLedger(meterAttribution);
  ledger.addSample(sample(1000));
  const l = line(0, 2000, 3000);
  const withEnd: InvocationLine = { ...l, metrics: { ...l.metrics!, finished_us: 2600, ended_us: 3000 }, client: { sent_us: 1900, replied_us: 3400 } };
  ledger.addInvocation(withEnd);
  const [r] = ledger.addSample(sample(5000));
  assert.deepEqual(r!.energy!.window, { span: 'run', start_us: 2000, end_us: 2600 });
  assert.deepEqual(r!.energy_invocation!.window, { span: 'invocation', start_us: 1990, end_us: 3400 });
  assert.deepEqual(r!.energy_thesis!.window, r!.energy_invocation!.window, 'the thesis method over the thesis\' window');
  assert.ok(Math.abs(r!.energy_invocation!.energy_uwh! - (5 * 1410) / 3600) < 1e-12);
  // Constant power read with no stated resolution and no clock uncertainty: nothing limits the estimate.
  assert.equal(r!.energy!.uncertainty_uwh, 0);
});
