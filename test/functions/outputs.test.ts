/**
 * The four benchmark functions give the right answer, byte for byte the same as a wasm module and as a
 * static native executable, on every input the thesis swept (1127 inputs), and refuse malformed input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BuiltFunction } from '../../src/build/index.js';
import * as oracle from './oracle.js';
import { buildBundledInTemp, runNative, runWasi, type RunOutput } from './run.js';

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
let scratch: string;
const modules = new Map<string, WebAssembly.Module>();

before(async () => {
  ({ built, cleanup } = await buildBundledInTemp());
  scratch = await mkdtemp(path.join(os.tmpdir(), 'nebula-wasi-'));
  for (const [name, fn] of built) modules.set(name, new WebAssembly.Module(await readFile(fn.wasm.path)));
});

after(async () => {
  await cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function native(name: string): string {
  const binary = built.get(name)?.native?.path;
  assert.ok(binary, `${name} has no native build`);
  return binary;
}

function wasm(name: string): WebAssembly.Module {
  const module = modules.get(name);
  assert.ok(module, `${name} has no wasm build`);
  return module;
}

/** Both builds of one function on one input. */
async function runBoth(name: string, input: string): Promise<{ native: RunOutput; wasm: RunOutput }> {
  return { native: await runNative(native(name), input), wasm: await runWasi(wasm(name), input, scratch) };
}

describe('every input of the thesis sweeps gives the reference answer, identical as wasm and as native', () => {
  for (const sweep of SWEEPS) {
    test(`${sweep.name}: ${sweep.inputs.length} inputs ${sweep.inputs[0]}..${sweep.inputs.at(-1)}`, async () => {
      const mismatches: string[] = [];
      for (const n of sweep.inputs) {
        const want = `${sweep.expected(n)}\n`;
        const got = await runBoth(sweep.name, `${n}\n`);
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
    test(`${name}(${input}) = ${want} as wasm and as native`, async () => {
      const got = await runBoth(name, `${input}\n`);
      assert.deepEqual([got.native.code, got.native.stdout], [0, `${want}\n`]);
      assert.deepEqual([got.wasm.code, got.wasm.stdout], [0, `${want}\n`]);
    });
  }
});

describe('input framing', () => {
  test('a CRLF line, surrounding blanks and a missing newline all read as the number', async () => {
    for (const input of ['30\r\n', ' 30\t\n', '30', '30\nignored second line\n']) {
      const got = await runBoth('fibonacci-recursive', input);
      assert.equal(got.native.stdout, '832040\n', JSON.stringify(input));
      assert.equal(got.wasm.stdout, '832040\n', JSON.stringify(input));
    }
  });

  test('the first line on stderr is nebula-start with the realtime clock in µs', async () => {
    const before = Date.now() * 1000;
    const got = await runBoth('factorial', '3\n');
    const after = Date.now() * 1000;
    for (const out of [got.native, got.wasm]) {
      const match = /^nebula-start (\d+)\n/.exec(out.stderr);
      assert.ok(match, `stderr ${JSON.stringify(out.stderr)}`);
      const us = Number(match[1]);
      // Bounds only for sanity (µs, not ms or s); 1 s of slack for the clock source.
      assert.ok(us >= before - 1_000_000 && us <= after + 1_000_000, `${us} not in [${before}, ${after}]`);
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
        const got = await runBoth(name, input);
        for (const [runtime, out] of Object.entries(got)) {
          const label = `${runtime} ${JSON.stringify(input.slice(0, 30))}`;
          assert.equal(out.code, 2, label);
          assert.equal(out.stdout, '', label);
          const message = out.stderr.split('\n').slice(1).join('\n');
          assert.match(message, input.length > 65535 ? /^input longer than 65535 bytes\n$/ : new RegExp(`^${name}: input must be a whole number from 0 to \\d+, got "`), label);
        }
      }
    });
  }
});
