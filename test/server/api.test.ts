import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FunctionResultSchema, InvocationResultSchema, type InvocationResult } from '../../src/protocol/api.js';
import { startServer } from '../../src/server/index.js';
import { UsageError } from '../../src/errors.js';
import { buildFixture, fixtureBytes, type FixtureName } from '../helpers/fixtures.js';
import { errorCode, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

function assertOrdered(r: InvocationResult): void {
  const m = r.metrics;
  const finished = m.finished_us ?? NaN;
  assert.ok(
    m.received_us <= m.ready_us && m.ready_us <= m.started_us && m.started_us <= finished && finished <= m.ended_us,
    `stamps out of order: ${JSON.stringify(m)}`,
  );
  assert.equal(m.startup_us, m.started_us - m.received_us);
  assert.equal(m.exec_us, finished - m.started_us);
  assert.equal(m.teardown_us, m.ended_us - finished);
  assert.equal(m.total_us, m.ended_us - m.received_us);
}

describe('nebula serve HTTP API (wasm, component and native, no docker)', () => {
  let t: TestServer;
  const fixtures: FixtureName[] = ['echo', 'trap', 'loop', 'fail', 'hog', 'nostart', 'clock'];

  before(async () => {
    t = await startTestServer({ docker: false, timeoutMs: 1500, maxMemoryMb: 32, maxInputBytes: 1024, maxArtifactBytes: 2 * 1024 * 1024 });
    for (const name of fixtures) {
      await t.client.putArtifact(name, 'wasm', await fixtureBytes(name, 'wasm'));
      await t.client.putArtifact(name, 'component', await fixtureBytes(name, 'component'));
      if (name !== 'hog') await t.client.putArtifact(name, 'native', await fixtureBytes(name, 'native'));
    }
  });
  after(async () => {
    await t.close();
  });

  test('GET /healthz reports wasm, component and native, docker false with a reason', async () => {
    const health = await t.client.health();
    assert.equal(health.ok, true);
    assert.equal(health.arch, process.arch);
    assert.deepEqual(health.runtimes, { wasm: true, component: true, docker: false, native: true });
    assert.match(health.unavailable?.docker ?? '', /disabled/);
    assert.equal(health.unavailable?.component, undefined);
  });

  test('GET /time answers the server clock in µs since the epoch', async () => {
    const before = Date.now() * 1000;
    const us = await t.client.timeUs();
    const after = Date.now() * 1000;
    assert.ok(Number.isInteger(us));
    assert.ok(us >= before - 5000 && us <= after + 5000, `${us} not near [${before}, ${after}]`);
  });

  test('GET /functions lists every deployed function with its artifacts', async () => {
    const list = await t.client.listFunctions();
    assert.deepEqual(list.map((f) => f.name), [...fixtures].sort());
    const echo = list.find((f) => f.name === 'echo')!;
    const wasm = await fixtureBytes('echo', 'wasm');
    assert.equal(echo.artifacts.wasm?.bytes, wasm.length);
    assert.match(echo.artifacts.wasm?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(echo.artifacts.native?.arch, process.arch);
    assert.equal(echo.artifacts.docker, undefined);
  });

  for (const runtime of ['wasm', 'component', 'native'] as const) {
    test(`${runtime}: echo returns its input as output, exit 0, start_source function, ordered stamps`, async () => {
      const r = await t.client.invoke('echo', 'hello nebula', runtime);
      assert.equal(r.output, 'hello nebula');
      assert.equal(r.ok, true);
      assert.equal(r.exit_code, 0);
      assert.equal(r.runtime, runtime);
      assert.equal(r.start_source, 'function');
      assert.equal(r.end_source, 'function');
      assert.equal(r.stderr, undefined, 'the nebula-start and nebula-end lines are stripped from stderr');
      assertOrdered(r);
    });

    test(`${runtime}: a function without the nebula-start line gets start_source host and keeps its stderr`, async () => {
      const r = await t.client.invoke('nostart', 'plain', runtime);
      assert.equal(r.output, 'plain');
      assert.equal(r.start_source, 'host');
      assert.equal(r.end_source, 'host');
      assert.equal(r.stderr, 'a plain stderr line\n');
      assertOrdered(r);
    });

    test(`${runtime}: the function's own CLOCK_REALTIME lies between its nebula-start and nebula-end stamps`, async () => {
      const r = await t.client.invoke('clock', '', runtime);
      const guest = Number(r.output);
      assert.ok(
        guest >= r.metrics.started_us && guest <= (r.metrics.finished_us ?? NaN),
        `guest clock ${guest} outside [${r.metrics.started_us}, ${r.metrics.finished_us}] (its own start and end stamps)`,
      );
    });

    test(`${runtime}: a non-zero exit is 200 with ok:false, exit_code 3, error and stderr`, async () => {
      const r = await t.client.invoke('fail', 'x', runtime);
      // WASI 0.2's exit carries only success or failure: exit(3) reaches the host as 1.
      const code = runtime === 'component' ? 1 : 3;
      assert.equal(r.ok, false);
      assert.equal(r.exit_code, code);
      assert.equal(r.error, `exited with code ${code}`);
      assert.equal(r.output, 'partial output');
      assert.equal(r.stderr, 'failing on purpose: x\n');
      assertOrdered(r);
    });

    test(`${runtime}: a trap is 200 with ok:false and keeps the output written before it`, async () => {
      const r = await t.client.invoke('trap', 'now', runtime);
      assert.equal(r.ok, false);
      assert.equal(r.output, 'before trap now');
      if (runtime !== 'native') {
        assert.equal(r.exit_code, null);
        // V8 says "unreachable"; jco's glue rewords the same trap ("wasm `unreachable` instruction executed").
        assert.match(r.error ?? '', /^RuntimeError: .*unreachable/);
      } else {
        assert.equal(r.exit_code, 128 + 4);
        assert.equal(r.error, 'terminated by SIGILL');
      }
    });

    test(`${runtime}: a runaway function is stopped with 504 and the next request still works`, async () => {
      const r = await rawRequest(t.url, 'POST', `/functions/loop/invoke?runtime=${runtime}`, 'x');
      assert.equal(r.status, 504);
      assert.equal(errorCode(r), 'timeout');
      assert.match((r.json as { error: { message: string } }).error.message, /--timeout-ms/);
      const next = await t.client.invoke('echo', 'still here', runtime);
      assert.equal(next.output, 'still here');
    });

    test(`${runtime}: concurrent invocations never mix their stdio`, async () => {
      const inputs = Array.from({ length: 12 }, (_, i) => `input-${i}-${'x'.repeat(i * 50)}`);
      const results = await Promise.all(inputs.map((input) => t.client.invoke('echo', input, runtime)));
      results.forEach((r, i) => {
        assert.equal(r.output, inputs[i]);
        assert.equal(r.input, inputs[i]);
      });
    });
  }

  for (const runtime of ['wasm', 'component'] as const) {
    test(`${runtime}: a memory hog fails to allocate at the cap (ok:false) instead of growing, and the next call works`, async () => {
      const r = await t.client.invoke('hog', '', runtime);
      assert.equal(r.ok, false);
      // exit(4); WASI 0.2 reports any failing exit as 1.
      assert.equal(r.exit_code, runtime === 'component' ? 1 : 4);
      const held = Number(/after (\d+) MiB/.exec(r.stderr ?? '')?.[1]);
      assert.ok(held < 32, `held ${held} MiB with a 32 MiB cap`);
      assert.equal((await t.client.invoke('echo', 'after the hog', runtime)).output, 'after the hog');
    });
  }

  test('invoking an unknown function is 404, a missing artifact is 404 naming the PUT', async () => {
    const unknown = await rawRequest(t.url, 'POST', '/functions/no-such-fn/invoke?runtime=wasm', '1');
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown), 'not-found');
    const missing = await rawRequest(t.url, 'POST', '/functions/hog/invoke?runtime=native', '1');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /PUT \/functions\/hog\/native/);
  });

  test('malformed names and path traversal are 400; an unknown runtime is 400', async () => {
    for (const path of ['/functions/..%2F..%2Fetc/invoke', '/functions/%2e%2e/wasm', '/functions/../wasm', '/functions/Upper/invoke', '/functions/a%ZZ/invoke']) {
      const r = await rawRequest(t.url, path.endsWith('wasm') ? 'PUT' : 'POST', path, 'x');
      assert.equal(r.status, 400, `${path} → ${r.status} ${r.text}`);
      assert.equal(errorCode(r), 'bad-name');
    }
    const r = await rawRequest(t.url, 'POST', '/functions/echo/invoke?runtime=java', 'x');
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'bad-runtime');
  });

  test('component: a core module, a truncated component or junk is refused with 422 naming what to do', async () => {
    const core = await rawRequest(t.url, 'PUT', '/functions/bad/component', await fixtureBytes('echo', 'wasm'));
    assert.equal(core.status, 422);
    assert.match(core.text, /core wasm module, not a WASI 0.2 component.*PUT \/functions\/\{name\}\/wasm/);
    const component = await fixtureBytes('echo', 'component');
    const truncated = await rawRequest(t.url, 'PUT', '/functions/bad/component', component.subarray(0, component.length / 2));
    assert.equal(truncated.status, 422);
    assert.match(truncated.text, /not a valid WASI 0.2 component/);
    const junk = await rawRequest(t.url, 'PUT', '/functions/bad/component', Buffer.from('#!/bin/sh\necho hi\n'));
    assert.equal(junk.status, 422);
    assert.match(junk.text, /missing the \\\\0asm header/);
    const list = await t.client.listFunctions();
    assert.equal(list.find((f) => f.name === 'bad'), undefined, 'nothing stored for a refused upload');
  });

  test('docker disabled: invoking docker answers 503 docker-unavailable', async () => {
    const r = await rawRequest(t.url, 'POST', '/functions/echo/invoke?runtime=docker', 'x');
    assert.equal(r.status, 503);
    assert.equal(errorCode(r), 'docker-unavailable');
  });

  test('an input over --max-input-kb is 413; an artifact over --max-artifact-mb is 413', async () => {
    const input = await rawRequest(t.url, 'POST', '/functions/echo/invoke', 'x'.repeat(1025));
    assert.equal(input.status, 413);
    assert.match(input.text, /--max-input-kb/);
    const artifact = await rawRequest(t.url, 'PUT', '/functions/big/wasm', new Uint8Array(2 * 1024 * 1024 + 1));
    assert.equal(artifact.status, 413);
    assert.match(artifact.text, /--max-artifact-mb/);
    assert.equal((await t.client.invoke('echo', 'ok', 'wasm')).output, 'ok');
  });

  test('deploy rejects a module that fails WebAssembly.validate with 422 and keeps the old one', async () => {
    const before = (await t.client.listFunctions()).find((f) => f.name === 'echo')!;
    const r = await rawRequest(t.url, 'PUT', '/functions/echo/wasm', Buffer.from('\0asm garbage'));
    assert.equal(r.status, 422);
    assert.equal(errorCode(r), 'invalid-artifact');
    const after = (await t.client.listFunctions()).find((f) => f.name === 'echo')!;
    assert.deepEqual(after, before);
    assert.equal((await t.client.invoke('echo', 'kept', 'wasm')).output, 'kept');
  });

  test('deploy rejects a native artifact that is not an ELF executable with 422', async () => {
    const r = await rawRequest(t.url, 'PUT', '/functions/echo/native', await fixtureBytes('echo', 'wasm'));
    assert.equal(r.status, 422);
    assert.match(r.text, /not an ELF executable/);
  });

  test('POST /invoke_function answers the thesis FunctionResult shape for form and JSON bodies', async () => {
    const form = await rawRequest(t.url, 'POST', '/invoke_function', 'function_name=echo&input=21&module_type=Wasm', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 200);
    const result = FunctionResultSchema.parse(form.json);
    assert.equal(result.func_name, 'echo');
    assert.equal(result.func_type, 'Wasm');
    assert.equal(result.result, '21');
    assert.equal(result.metrics.total_runtime, result.metrics.end_since_epoch - result.metrics.start_since_epoch);
    assert.ok(result.metrics.startup_time <= result.metrics.total_runtime);
    const json = await rawRequest(t.url, 'POST', '/invoke_function', JSON.stringify({ function_name: 'echo', input: 7, module_type: 'Wasm' }), {
      'content-type': 'application/json',
    });
    assert.equal(FunctionResultSchema.parse(json.json).result, '7');
    const bad = await rawRequest(t.url, 'POST', '/invoke_function', JSON.stringify({ input: 7 }), { 'content-type': 'application/json' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /function_name/);
  });

  test('GET /metrics renders Prometheus counters and histograms per function and runtime', async () => {
    await t.client.invoke('fail', '', 'native');
    const r = await rawRequest(t.url, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0.0.4/);
    assert.match(r.text, /^nebula_invocations_total\{function="echo",runtime="wasm"\} \d+$/m);
    assert.match(r.text, /^nebula_invocation_errors_total\{function="fail",runtime="native",reason="failed"\} \d+$/m);
    assert.match(r.text, /^nebula_invocation_errors_total\{function="loop",runtime="wasm",reason="timeout"\} 1$/m);
    assert.match(r.text, /^# TYPE nebula_invocation_startup_seconds histogram$/m);
    const count = Number(/^nebula_invocation_total_seconds_count\{function="echo",runtime="wasm"\} (\d+)$/m.exec(r.text)?.[1]);
    const inf = Number(/^nebula_invocation_total_seconds_bucket\{function="echo",runtime="wasm",le="\+Inf"\} (\d+)$/m.exec(r.text)?.[1]);
    assert.ok(count > 0);
    assert.equal(inf, count);
    assert.doesNotMatch(r.text, /no-such-fn/);
    // Every stamp of every call so far was in order as measured: the clamping never fired.
    assert.doesNotMatch(r.text, /^nebula_timestamp_adjustments_total\{/m);
  });

  test('unknown endpoints are 404 JSON errors', async () => {
    const r = await rawRequest(t.url, 'GET', '/nope');
    assert.equal(r.status, 404);
    assert.equal(errorCode(r), 'no-route');
  });

  test('DELETE removes a function: listing drops it and invoking it is 404', async () => {
    await t.client.putArtifact('doomed', 'wasm', await fixtureBytes('echo', 'wasm'));
    await t.client.deleteFunction('doomed');
    assert.ok(!(await t.client.listFunctions()).some((f) => f.name === 'doomed'));
    const r = await rawRequest(t.url, 'POST', '/functions/doomed/invoke', 'x');
    assert.equal(r.status, 404);
    const again = await rawRequest(t.url, 'DELETE', '/functions/doomed');
    assert.equal(again.status, 404);
  });

  test('results validate against the InvocationResult schema', async () => {
    const r = await rawRequest(t.url, 'POST', '/functions/echo/invoke?runtime=wasm', 'schema');
    InvocationResultSchema.parse(r.json);
  });
});

describe('native process groups', () => {
  test('native: a child the function forked is killed when the function exits, so the call answers', async () => {
    const t = await startTestServer({ docker: false, timeoutMs: 60_000 });
    try {
      await t.client.putArtifact('forker', 'native', await fixtureBytes('forker', 'native'));
      const r = await t.client.invoke('forker', 'x', 'native');
      assert.equal(r.ok, true);
      assert.equal(r.output, 'parent done');
      assertOrdered(r);
    } finally {
      await t.close();
    }
  });

  test('native: the timeout kills the whole process group (504, not a hang), and the next call works', async () => {
    const t = await startTestServer({ docker: false, timeoutMs: 500 });
    try {
      await t.client.putArtifact('forker', 'native', await fixtureBytes('forker', 'native'));
      const r = await rawRequest(t.url, 'POST', '/functions/forker/invoke?runtime=native', 'hang');
      assert.equal(r.status, 504);
      assert.equal(errorCode(r), 'timeout');
      assert.equal((await t.client.invoke('forker', 'x', 'native')).output, 'parent done');
    } finally {
      await t.close();
    }
  });
});

describe('limits, auth and the store', () => {
  test('a full queue answers 503 busy while the only worker runs a runaway function', async () => {
    const t = await startTestServer({ docker: false, workers: 1, queueLimit: 0, timeoutMs: 3000 });
    try {
      await t.client.putArtifact('loop', 'wasm', await fixtureBytes('loop', 'wasm'));
      await t.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
      const runaway = rawRequest(t.url, 'POST', '/functions/loop/invoke', 'x');
      let busy;
      // The runaway request may not have reached the worker yet: try until the queue is seen full.
      for (let i = 0; i < 100; i++) {
        busy = await rawRequest(t.url, 'POST', '/functions/echo/invoke', 'x');
        if (busy.status === 503) break;
      }
      assert.equal(busy?.status, 503);
      assert.equal(errorCode(busy!), 'busy');
      assert.equal((await runaway).status, 504);
      assert.equal((await t.client.invoke('echo', 'after', 'wasm')).output, 'after');
    } finally {
      await t.close();
    }
  });

  test('with a token, PUT and DELETE without Authorization: Bearer are 401; reads stay open', async () => {
    const t = await startTestServer({ docker: false, token: 's3cret' });
    try {
      const wasm = await fixtureBytes('echo', 'wasm');
      const denied = await rawRequest(t.url, 'PUT', '/functions/echo/wasm', wasm);
      assert.equal(denied.status, 401);
      assert.equal(errorCode(denied), 'unauthorized');
      const wrong = await rawRequest(t.url, 'PUT', '/functions/echo/wasm', wasm, { authorization: 'Bearer nope' });
      assert.equal(wrong.status, 401);
      await t.client.putArtifact('echo', 'wasm', wasm); // the client sends the token
      assert.equal((await rawRequest(t.url, 'DELETE', '/functions/echo')).status, 401);
      assert.equal((await rawRequest(t.url, 'GET', '/functions')).status, 200);
    } finally {
      await t.close();
    }
  });

  test('binding a non-loopback address without a token is refused with a UsageError (exit 2)', async () => {
    await assert.rejects(
      startServer({ host: '0.0.0.0', port: 0, storeDir: '/nonexistent', docker: false }),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2 && /--token/.test(e.hint ?? ''),
    );
  });

  test('a restart clears what an interrupted write or delete left in the store\'s .tmp', async () => {
    const first = await startTestServer({ docker: false });
    await first.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await first.close({ keepStore: true });
    await writeFile(join(first.storeDir, '.tmp', 'abandoned.part'), 'half a module');
    await mkdir(join(first.storeDir, '.tmp', 'deleted-old-0000'));
    const second = await startTestServer({ docker: false, storeDir: first.storeDir });
    try {
      assert.deepEqual(await readdir(join(first.storeDir, '.tmp')), []);
      assert.equal((await second.client.invoke('echo', 'kept', 'wasm')).output, 'kept');
    } finally {
      await second.close();
    }
  });

  test('a deploy whose write fails leaves no empty function listed', async () => {
    const t = await startTestServer({ docker: false });
    try {
      // A file where the store's temp dir must be: every atomic write fails.
      await rm(join(t.storeDir, '.tmp'), { recursive: true });
      await writeFile(join(t.storeDir, '.tmp'), '');
      const r = await rawRequest(t.url, 'PUT', '/functions/echo/wasm', await fixtureBytes('echo', 'wasm'));
      assert.equal(r.status, 500);
      assert.deepEqual(await t.client.listFunctions(), []);
      assert.equal((await rawRequest(t.url, 'POST', '/functions/echo/invoke', 'x')).status, 404);
    } finally {
      await rm(join(t.storeDir, '.tmp'), { force: true });
      await t.close();
    }
  });

  test('a restart after a deploy interrupted between artifact and meta.json lists the artifact on disk, with a warning', async () => {
    const first = await startTestServer({ docker: false });
    await first.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await first.close({ keepStore: true });
    // The crash window: the new module was renamed into place, its meta.json was not.
    const newer = await fixtureBytes('nostart', 'wasm');
    await writeFile(join(first.storeDir, 'echo', 'module.wasm'), newer);
    const second = await startTestServer({ docker: false, storeDir: first.storeDir });
    try {
      const [echo] = await second.client.listFunctions();
      assert.equal(echo?.artifacts.wasm?.sha256, createHash('sha256').update(newer).digest('hex'));
      assert.equal(echo?.artifacts.wasm?.bytes, newer.length);
      assert.ok(second.server.warnings.some((w) => /echo: module\.wasm was newer than its meta\.json/.test(w)), second.server.warnings.join('\n'));
    } finally {
      await second.close();
    }
  });

  test('a restart keeps the store: functions are listed and invocable after a new start', async () => {
    const first = await startTestServer({ docker: false });
    await first.client.putArtifact('echo', 'wasm', await fixtureBytes('echo', 'wasm'));
    await first.client.putArtifact('echo', 'native', await fixtureBytes('echo', 'native'));
    await first.client.putArtifact('echo', 'component', await fixtureBytes('echo', 'component'));
    const listed = await first.client.listFunctions();
    await first.close({ keepStore: true });
    const second = await startTestServer({ docker: false, storeDir: first.storeDir });
    try {
      assert.deepEqual(await second.client.listFunctions(), listed);
      assert.equal((await second.client.invoke('echo', 'again', 'wasm')).output, 'again');
      assert.equal((await second.client.invoke('echo', 'again', 'native')).output, 'again');
      assert.equal((await second.client.invoke('echo', 'again', 'component')).output, 'again');
      const stored = await readFile(join(first.storeDir, 'echo', 'module.wasm'));
      assert.deepEqual(stored, await readFile(await buildFixture('echo', 'wasm')));
    } finally {
      await second.close();
    }
  });
});
