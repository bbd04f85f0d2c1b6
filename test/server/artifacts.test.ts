import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeError } from '../../src/server/host/errors.js';
import { validateElf } from '../../src/server/runtimes/native/elf.js';
import { capMemory } from '../../src/server/host/wasm-binary.js';
import { prepareWasm } from '../../src/server/runtimes/wasm/module.js';
import { fixtureBytes } from '../helpers/fixtures.js';

/** A tiny module: (memory <min> [max]) exported as "memory", plus an empty exported _start. */
function moduleWithMemory(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
    0x03, 0x02, 0x01, 0x00, // func 0: type 0
    0x05, 1 + limits.length, 0x01, ...limits, // memory
    0x07, 0x13, 0x02, 0x06, ...Buffer.from('memory'), 0x02, 0x00, 0x06, ...Buffer.from('_start'), 0x00, 0x00,
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: empty body
  ]);
}

function memoryMaxPages(bytes: Uint8Array): number | undefined {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports.memory as WebAssembly.Memory;
  // Growing past the max throws RangeError: find the max by probing one page at a time from the cap.
  let pages = memory.buffer.byteLength / 65536;
  try {
    for (; pages < 70000; pages++) memory.grow(1);
  } catch {
    return pages;
  }
  return undefined;
}

test('capMemory gives a module without a memory max the cap (2 MiB → 32 pages)', () => {
  const capped = capMemory(moduleWithMemory(1), 2);
  assert.ok(WebAssembly.validate(capped));
  assert.equal(memoryMaxPages(capped), 32);
});

test('capMemory lowers a max above the cap and keeps a max below it', () => {
  assert.equal(memoryMaxPages(capMemory(moduleWithMemory(1, 100), 2)), 32);
  assert.equal(memoryMaxPages(capMemory(moduleWithMemory(1, 3), 2)), 3);
});

test('prepareWasm rejects a module whose initial memory is above the cap with 422', async () => {
  await assert.rejects(prepareWasm(moduleWithMemory(64), 2), (e: unknown) => e instanceof RuntimeError && e.kind === 'invalid-artifact' && /--max-memory-mb/.test(e.message));
});

test('prepareWasm rejects bytes that fail WebAssembly.validate with 422', async () => {
  const broken = Buffer.from(moduleWithMemory(1));
  broken[broken.length - 1] = 0xff;
  await assert.rejects(prepareWasm(broken, 2), (e: unknown) => e instanceof RuntimeError && e.kind === 'invalid-artifact' && /validate/.test(e.message));
  await assert.rejects(prepareWasm(Buffer.from('hello'), 2), (e: unknown) => e instanceof RuntimeError && e.kind === 'invalid-artifact');
});

test('prepareWasm compiles the echo fixture and caps its memory', async () => {
  const module = await prepareWasm(await fixtureBytes('echo', 'wasm'), 8);
  assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === '_start'));
});

test('validateElf accepts the static gcc fixture on x64 and names the arch when it differs', async () => {
  const elf = await fixtureBytes('echo', 'native');
  validateElf(elf, 'x64');
  assert.throws(() => validateElf(elf, 'arm64'), (e: unknown) => e instanceof RuntimeError && e.kind === 'invalid-artifact' && /is for x64 but this server is arm64/.test(e.message));
});

test('validateElf rejects non-ELF bytes and dynamically linked executables with 422', () => {
  assert.throws(() => validateElf(Buffer.alloc(100), 'x64'), /not an ELF executable/);
  const dynamic = Buffer.alloc(64 + 56);
  dynamic.writeUInt32BE(0x7f454c46, 0);
  dynamic[4] = 2;
  dynamic[5] = 1;
  dynamic.writeUInt16LE(2, 16);
  dynamic.writeUInt16LE(62, 18);
  dynamic.writeBigUInt64LE(64n, 32);
  dynamic.writeUInt16LE(56, 54);
  dynamic.writeUInt16LE(1, 56);
  dynamic.writeUInt32LE(3, 64); // PT_INTERP
  assert.throws(() => validateElf(dynamic, 'x64'), /dynamically linked/);
});
