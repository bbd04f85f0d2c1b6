import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../src/server/metrics.js';
import { START_TOLERANCE_US, toInvocationResult } from '../../src/server/result.js';
import type { RawRun } from '../../src/server/host/runtime.js';

const enc = new TextEncoder();

function raw(stderr: string, over: Partial<RawRun> = {}): RawRun {
  return { readyUs: 1_000_100, hostStartUs: 1_000_150, endedUs: 1_000_900, exitCode: 0, stdout: enc.encode('out\n'), stderr: enc.encode(stderr), ...over };
}

describe('toInvocationResult stamping', () => {
  test('a function stamp inside [ready, ended] is used as is, with no adjustment', () => {
    const { result, adjustment } = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000200\n'));
    assert.equal(adjustment, undefined);
    assert.equal(result.start_source, 'function');
    assert.deepEqual(result.metrics, {
      received_us: 1_000_000,
      ready_us: 1_000_100,
      started_us: 1_000_200,
      finished_us: 1_000_900,
      ended_us: 1_000_900,
      startup_us: 200,
      exec_us: 700,
      teardown_us: 0,
      total_us: 900,
    });
    assert.equal(result.end_source, 'host', 'no nebula-end line: the host end stands in');
    assert.equal(result.stderr, undefined);
    assert.equal(result.output, 'out');
  });

  test('the nebula-end stamp splits exec from teardown; startup + exec + teardown = total', () => {
    const { result, adjustment } = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000200\nwarning\nnebula-end 1000500\n'));
    assert.equal(adjustment, undefined);
    assert.equal(result.end_source, 'function');
    const m = result.metrics;
    assert.deepEqual([m.finished_us, m.exec_us, m.teardown_us, m.total_us], [1_000_500, 300, 400, 900]);
    assert.equal(m.startup_us + m.exec_us + (m.teardown_us ?? NaN), m.total_us);
    assert.equal(result.stderr, 'warning\n', 'both stamp lines are stripped, the rest is kept');
  });

  test('a nebula-end line that is not the last line is the function\'s own text, not a stamp', () => {
    const { result } = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000200\nnebula-end 1000500\nlater\n'));
    assert.equal(result.end_source, 'host');
    assert.equal(result.metrics.exec_us, 700);
    assert.equal(result.stderr, 'nebula-end 1000500\nlater\n');
  });

  test('an end stamp a few µs after ended is clamped; one far outside (ms) is rejected and kept in stderr', () => {
    const near = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000200\nnebula-end 1000904\n'));
    assert.equal(near.adjustment, 'clamped');
    assert.equal(near.result.end_source, 'function');
    assert.deepEqual([near.result.metrics.finished_us, near.result.metrics.teardown_us], [1_000_900, 0]);
    const far = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000200\nnebula-end 1000\n'));
    assert.equal(far.adjustment, 'rejected');
    assert.equal(far.result.end_source, 'host');
    assert.equal(far.result.metrics.exec_us, 700);
    assert.equal(far.result.stderr, 'nebula-end 1000\n');
  });

  test('a function stamp a few µs before ready is clamped to ready and reported as clamped', () => {
    const { result, adjustment } = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000097\n'));
    assert.equal(adjustment, 'clamped');
    assert.equal(result.start_source, 'function');
    assert.equal(result.metrics.started_us, 1_000_100);
  });

  test('a function stamp far outside [ready, ended] (ms, not µs) is rejected: host estimate, line kept in stderr', () => {
    const { result, adjustment } = toInvocationResult('f', 'native', 'in', 1_000_000, raw('nebula-start 1000\nmore\n'));
    assert.equal(adjustment, 'rejected');
    assert.equal(result.start_source, 'host');
    assert.equal(result.metrics.started_us, 1_000_150);
    assert.equal(result.stderr, 'nebula-start 1000\nmore\n');
    const late = toInvocationResult('f', 'native', 'in', 1_000_000, raw(`nebula-start ${1_000_900 + START_TOLERANCE_US + 1}\n`));
    assert.equal(late.adjustment, 'rejected');
  });

  test('a host start estimate after ended (a quick container) is clamped without counting', () => {
    const { result, adjustment } = toInvocationResult('f', 'docker', 'in', 1_000_000, raw('', { hostStartUs: 1_000_950 }));
    assert.equal(adjustment, undefined);
    assert.equal(result.start_source, 'host');
    assert.equal(result.metrics.started_us, 1_000_900);
  });

  test('ready before received (a runtime bug) is clamped and reported', () => {
    const { result, adjustment } = toInvocationResult('f', 'wasm', 'in', 1_000_000, raw('', { readyUs: 999_990, hostStartUs: 999_990 }));
    assert.equal(adjustment, 'clamped');
    assert.equal(result.metrics.ready_us, 1_000_000);
  });
});

describe('/metrics text', () => {
  test('histograms are cumulative with le="+Inf" = _count, and adjustments are a counter by kind', () => {
    const m = new MetricsRegistry();
    const stamps = (total: number) => ({ received_us: 0, ready_us: 0, started_us: 0, ended_us: total, startup_us: 0, exec_us: total, total_us: total });
    m.recordResult('f', 'wasm', true, stamps(50)); // 50 µs
    m.recordResult('f', 'wasm', true, stamps(3000)); // 3 ms
    m.recordResult('f', 'wasm', false, stamps(20_000_000), 'rejected'); // 20 s: above every bucket
    const text = m.render();
    const bucket = (le: string) => Number(new RegExp(`^nebula_invocation_total_seconds_bucket\\{function="f",runtime="wasm",le="${le.replace('+', '\\+')}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.equal(bucket('0.0001'), 1);
    assert.equal(bucket('0.0025'), 1);
    assert.equal(bucket('0.005'), 2);
    assert.equal(bucket('10'), 2);
    assert.equal(bucket('+Inf'), 3);
    assert.match(text, /^nebula_invocation_total_seconds_count\{function="f",runtime="wasm"\} 3$/m);
    assert.match(text, /^nebula_invocation_total_seconds_sum\{function="f",runtime="wasm"\} 20\.00305$/m);
    assert.match(text, /^# TYPE nebula_timestamp_adjustments_total counter$/m);
    assert.match(text, /^nebula_timestamp_adjustments_total\{function="f",runtime="wasm",kind="rejected"\} 1$/m);
    assert.match(text, /^nebula_invocation_errors_total\{function="f",runtime="wasm",reason="failed"\} 1$/m);
    // Every sample line belongs to a family announced by HELP and TYPE before it.
    const announced = new Set<string>();
    for (const line of text.trimEnd().split('\n')) {
      const type = /^# TYPE (\S+) (counter|histogram)$/.exec(line);
      if (type) announced.add(type[1]!);
      if (line.startsWith('#')) continue;
      const family = line.split('{')[0]!.replace(/_(bucket|sum|count)$/, '');
      assert.ok(announced.has(family) || announced.has(line.split('{')[0]!), `no TYPE before ${line}`);
    }
  });
});
