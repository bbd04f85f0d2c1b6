import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvocationResultSchema } from '../../src/protocol/api.js';
import { parseInvocationResult } from '../../src/protocol/invocation-check.js';

const metrics = { received_us: 1, ready_us: 2, started_us: 3, ended_us: 5, startup_us: 1, exec_us: 2, total_us: 4 };
const valid = { function: 'echo', runtime: 'wasm', input: '1', output: '1', ok: true, exit_code: 0, start_source: 'host', metrics };
const full = {
  ...valid,
  end_source: 'function',
  error: 'e',
  stderr: 's',
  mode: 'prewarmed',
  prepared: true,
  truncated: true,
  metrics: { ...metrics, finished_us: 4, teardown_us: 1 },
};

/** Every field of `base` (and of its metrics) set to each value that is wrong somewhere, or removed. */
function mutations(base: Record<string, unknown>): unknown[] {
  const odd = [undefined, null, '', 'x', 'host', 'wasm', 'cold', 0, 1.5, -1, 2 ** 53, true, false, [], {}, { ...metrics }];
  const out: unknown[] = [null, [], 'text', 1, {}, [base]];
  for (const key of Object.keys(base)) {
    for (const v of odd) out.push({ ...base, [key]: v });
    const { [key]: _gone, ...rest } = base;
    out.push(rest);
  }
  for (const key of Object.keys(base.metrics as object)) {
    for (const v of odd) out.push({ ...base, metrics: { ...(base.metrics as object), [key]: v } });
  }
  return out;
}

test('the fast check of an invocation answer gives zod’s verdict and zod’s object for every mutation of a well-formed answer', () => {
  const cases = [valid, full, { ...valid, exit_code: null }, { ...full, unknown: 1, metrics: { ...full.metrics, extra: 2 } }, ...mutations(valid), ...mutations(full)];
  let accepted = 0;
  for (const data of cases) {
    const ours = parseInvocationResult(data);
    const zods = InvocationResultSchema.safeParse(data);
    assert.equal(ours.success, zods.success, JSON.stringify(data));
    if (ours.success && zods.success) {
      accepted++;
      // Same keys in the same order (the line written to invocations.jsonl is the same text).
      assert.equal(JSON.stringify(ours.data), JSON.stringify(zods.data), JSON.stringify(data));
    }
  }
  assert.ok(accepted >= 10 && accepted < cases.length / 2, `${accepted} of ${cases.length} accepted`);
});

test('unknown fields of an answer are dropped, as zod drops them', () => {
  const r = parseInvocationResult({ ...valid, secret: 'x', metrics: { ...metrics, more: 1 } });
  assert.ok(r.success);
  assert.deepEqual(r.data, valid);
});

test('a malformed answer is named field by field (zod’s message)', () => {
  const r = parseInvocationResult({ ...valid, exit_code: 'zero', metrics: { ...metrics, total_us: 1.5 } });
  assert.ok(!r.success);
  assert.match(r.error.message, /exit_code/);
  assert.match(r.error.message, /total_us/);
});
