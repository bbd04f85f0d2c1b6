/**
 * The four benchmark functions give the right answer, byte for byte the same as a wasm module, as a
 * WASI 0.2 component and as a static native executable, on every input the thesis swept (1127
 * inputs), and refuse malformed input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BuiltFunction } from '../../src/build/index.js';
import type { InvocationResult, Runtime } from '../../src/protocol/api.js';
import { deployFunctions } from '../../src/deploy/index.js';
import { requireDockerOrSkip } from '../helpers/docker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import * as oracle from './oracle.js';
import { buildBundledInTemp, runNative } from './run.js';

const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

/** The thesis' sweeps (THESIS.md) and the reference answer for each input. */
const SWEEPS: { name: string; inputs: number[]; expected: (n: number) => string }[] = [
  { name: 'fibonacci-recursive', inputs: range(0, 40), expected: oracle.fibonacci },
  { name: 'exponential', inputs: range(0, 706, 2), expected: oracle.exponential },
  { name: 'factorial', inputs: range(0, 130), expected: oracle.factorial },
  { name: 'prime-number', inputs: range(0, 6000, 10), expected: oracle.nthPrime },
];

let built: Map<string, BuiltFunction>;
let cleanup: () => Promise<void>;
let server: TestServer;

before(async () => {
  ({ built, cleanup } = await buildBundledInTemp());
  // The real server runs the wasm (and docker) builds; natives are spawned here directly.
  server = await startTestServer({ timeoutMs: 120_000 });
  // Deployed under names unique to this process: the server names docker images after the function.
  for (const fn of built.values()) await deployFunctions(server.client, [fn.dir], { name: deployed(fn.name) });
});

const deployed = (name: string): string => `${name}-${process.pid}`;

after(async () => {
  if (server) for (const fn of await server.client.listFunctions()) await server.client.deleteFunction(fn.name);
  await server?.close();
  await cleanup();
});

/** One run, normalised across runtimes: stdout with its newline, stderr without the nebula-start line. */
interface Outcome {
  code: number | null;
  stdout: string;
  message: string;
  startedByFunction: boolean;
}

async function viaNative(name: string, input: string): Promise<Outcome> {
  const binary = built.get(name)?.native?.path;
  assert.ok(binary, `${name} has no native build`);
  const out = await runNative(binary, input);
  const [first = '', ...rest] = out.stderr.split('\n');
  // The harness' last line, `nebula-end <µs>`, is a stamp the server strips too.
  const message = rest.join('\n').replace(/(^|\n)nebula-end \d+\n$/, '$1');
  return { code: out.code, stdout: out.stdout, message, startedByFunction: /^nebula-start \d+$/.test(first) };
}

async function viaServer(name: string, input: string, runtime: Runtime): Promise<Outcome> {
  const result: InvocationResult = await server.client.invoke(deployed(name), input, runtime);
  // The server drops the output's one trailing newline; every function prints exactly one.
  return {
    code: result.exit_code,
    stdout: result.output === '' ? '' : `${result.output}\n`,
    message: result.stderr ?? '',
    startedByFunction: result.start_source === 'function',
  };
}

/** Every build of one function on one input: the native executable, the wasm module and the component on the server. */
async function runAll(name: string, input: string): Promise<{ native: Outcome; wasm: Outcome; component: Outcome }> {
  // At once: the native process and the two worker pools run side by side.
  const [native, wasm, component] = await Promise.all([viaNative(name, input), viaServer(name, input, 'wasm'), viaServer(name, input, 'component')]);
  return { native, wasm, component };
}

/** The exit code a runtime reports for `code`: WASI 0.2's exit carries only success (0) or failure (1). */
const exitAs = (runtime: string, code: number): number => (runtime === 'component' && code !== 0 ? 1 : code);

describe('every input of the thesis sweeps gives the reference answer, identical as wasm, component and native', () => {
  for (const sweep of SWEEPS) {
    test(`${sweep.name}: ${sweep.inputs.length} inputs ${sweep.inputs[0]}..${sweep.inputs.at(-1)}`, async () => {
      const mismatches: string[] = [];
      for (const n of sweep.inputs) {
        const want = `${sweep.expected(n)}\n`;
        const got = await runAll(sweep.name, `${n}\n`);
        for (const [runtime, out] of Object.entries(got)) {
          if (out.code !== 0 || out.stdout !== want) {
            mismatches.push(`${runtime} ${n}: exit ${out.code}, stdout ${JSON.stringify(out.stdout)}, want ${JSON.stringify(want)}`);
          }
        }
      }
      assert.deepEqual(mismatches.slice(0, 10), []);
    });
  }
});

describe('known values', () => {
  const cases: [string, string, string][] = [
    ['fibonacci-recursive', '0', '0'],
    ['fibonacci-recursive', '1', '1'],
    ['fibonacci-recursive', '30', '832040'],
    ['exponential', '0', '1'],
    ['exponential', '1', '2.718281828459045'],
    ['exponential', '709', '8.218407461554972e+307'],
    ['exponential', '710', 'inf'],
    ['factorial', '0', '1'],
    ['factorial', '20', '2.43290200817664e+18'],
    ['factorial', '170', '7.257415615307994e+306'],
    ['factorial', '171', 'inf'],
    ['factorial', '1000000', 'inf'],
    ['prime-number', '0', '0'],
    ['prime-number', '1', '2'],
    ['prime-number', '10000', '104729'],
  ];
  for (const [name, input, want] of cases) {
    test(`${name}(${input}) = ${want} as wasm, component and native`, async () => {
      const got = await runAll(name, `${input}\n`);
      for (const [runtime, out] of Object.entries(got)) {
        assert.deepEqual([out.code, out.stdout, out.startedByFunction], [0, `${want}\n`, true], runtime);
      }
    });
  }
});

describe('input framing', () => {
  test('a CRLF line, surrounding blanks and a missing newline all read as the number', async () => {
    for (const input of ['30\r\n', ' 30\t\n', '30', '30\nignored second line\n']) {
      const got = await runAll('fibonacci-recursive', input);
      assert.equal(got.native.stdout, '832040\n', JSON.stringify(input));
      assert.equal(got.wasm.stdout, '832040\n', JSON.stringify(input));
      assert.equal(got.component.stdout, '832040\n', JSON.stringify(input));
    }
  });

  test('the first line on stderr is nebula-start with the realtime clock in µs', async () => {
    const before = Date.now() * 1000;
    const out = await runNative(built.get('factorial')?.native?.path ?? '', '3\n');
    const after = Date.now() * 1000;
    const match = /^nebula-start (\d+)\n/.exec(out.stderr);
    assert.ok(match, `stderr ${JSON.stringify(out.stderr)}`);
    const us = Number(match[1]);
    // Bounds only for sanity (µs, not ms or s); 1 s of slack for the clock source.
    assert.ok(us >= before - 1_000_000 && us <= after + 1_000_000, `${us} not in [${before}, ${after}]`);
    const wasm = await viaServer('factorial', '3\n', 'wasm');
    assert.equal(wasm.startedByFunction, true, 'the server found the nebula-start line of the wasm build');
    const component = await viaServer('factorial', '3\n', 'component');
    assert.equal(component.startedByFunction, true, 'the server found the nebula-start line of the component');
  });

  test('the last line on stderr is nebula-end, after the start stamp, on every path out (malformed input too)', async () => {
    for (const input of ['3\n', 'abc\n', 'x'.repeat(70_000)]) {
      const out = await runNative(built.get('factorial')?.native?.path ?? '', input);
      const start = Number(/^nebula-start (\d+)\n/.exec(out.stderr)?.[1]);
      const end = Number(/\nnebula-end (\d+)\n$/.exec(out.stderr)?.[1]);
      assert.ok(end >= start, `${JSON.stringify(input.slice(0, 8))}: stderr ${JSON.stringify(out.stderr.slice(-200))}`);
    }
    for (const runtime of ['wasm', 'native'] as const) {
      const result = await server.client.invoke(deployed('factorial'), '3\n', runtime);
      assert.equal(result.end_source, 'function', `the server found the nebula-end line of the ${runtime} build`);
      const m = result.metrics;
      assert.equal(m.startup_us + m.exec_us + (m.teardown_us ?? NaN), m.total_us, runtime);
    }
  });
});

describe('malformed input exits non-zero with a message on stderr and nothing on stdout', () => {
  const limits: Record<string, string> = {
    'fibonacci-recursive': '93',
    exponential: '1000000001',
    factorial: '1000000001',
    'prime-number': '1000001',
  };
  const malformed = ['abc', '-1', '', '\n', '+5', '3.5', '1e3', '12abc', '99999999999999999999999', '18446744073709551616'];
  for (const name of Object.keys(limits)) {
    test(`${name}: letters, sign, empty, fractions, huge numbers, above the range, an over-long line`, async () => {
      const inputs = [...malformed, limits[name] as string, 'x'.repeat(70_000)];
      for (const input of inputs) {
        const got = await runAll(name, input);
        for (const [runtime, out] of Object.entries(got)) {
          const label = `${runtime} ${JSON.stringify(input.slice(0, 30))}`;
          assert.equal(out.code, exitAs(runtime, 2), label);
          assert.equal(out.stdout, '', label);
          assert.ok(out.startedByFunction, label);
          assert.match(out.message, input.length > 65535 ? /^input longer than 65535 bytes\n$/ : new RegExp(`^${name}: input must be a whole number from 0 to \\d+, got "`), label);
        }
      }
    });
  }
});

describe('through docker on the real server (the image built from the native executable)', () => {
  const sample: [string, string][] = [
    ['fibonacci-recursive', '0'],
    ['fibonacci-recursive', '30'],
    ['exponential', '1'],
    ['exponential', '706'],
    ['factorial', '170'],
    ['factorial', '171'],
    ['prime-number', '0'],
    ['prime-number', '6000'],
  ];
  test(`a sample of ${sample.length} inputs gives the reference answer, and malformed input exits 2`, async (t) => {
    if (!(await requireDockerOrSkip(t))) return;
    for (const [name, input] of sample) {
      const sweep = SWEEPS.find((s) => s.name === name);
      const got = await viaServer(name, input, 'docker');
      assert.deepEqual([got.code, got.stdout, got.startedByFunction], [0, `${sweep?.expected(Number(input))}\n`, true], `${name}(${input})`);
    }
    const bad = await viaServer('factorial', 'abc', 'docker');
    assert.deepEqual([bad.code, bad.stdout], [2, '']);
    assert.match(bad.message, /^factorial: input must be a whole number from 0 to 1000000000, got "abc"\n$/);
  });
});
