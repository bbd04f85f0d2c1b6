/** `nebula build`: reproducible modules, cross builds, and errors that name what to install or fix. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildFunctions, bundledFunctionsDir, listFunctionDirs } from '../../src/build/index.js';
import { defaultToolchain, diagnoseNativeFailure, diagnoseWasmFailure } from '../../src/build/toolchain.js';
import { BuildError, UsageError } from '../../src/errors.js';
import { runNative } from './run.js';

const exec = promisify(execFile);
const CLI = path.resolve('src/cli.ts');

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nebula-build-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A function folder in the temp dir with the given C source. */
async function makeFunction(name: string, source: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name}.c`), source);
  return dir;
}

/** ELF e_machine of a file: 62 = x86-64, 183 = aarch64. */
async function elfMachine(file: string): Promise<number> {
  const bytes = await readFile(file);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF');
  return bytes.readUInt16LE(18);
}

describe('reproducible modules', () => {
  test('building the bundled sources elsewhere reproduces every committed .wasm and .component.wasm byte for byte', async () => {
    const root = path.join(tmp, 'copy');
    await cp(bundledFunctionsDir(), root, { recursive: true, filter: (src) => !/[/\\]build$/.test(src) && !src.endsWith('.wasm') });
    const built = await buildFunctions(await listFunctionDirs(root), { native: false });
    assert.deepEqual(built.map((fn) => fn.name), ['exponential', 'factorial', 'fibonacci-recursive', 'prime-number']);
    for (const fn of built) {
      for (const file of [`${fn.name}.wasm`, `${fn.name}.component.wasm`]) {
        const committed = await readFile(path.join(bundledFunctionsDir(), fn.name, file));
        const rebuilt = await readFile(path.join(root, fn.name, file));
        assert.ok(committed.equals(rebuilt), `${file} differs from the committed one; run nebula build and commit it`);
      }
      assert.equal(fn.component?.path, path.join(root, fn.name, `${fn.name}.component.wasm`));
      assert.equal(fn.native, undefined);
    }
  });

  test('a component is a WASI 0.2 command: layer-1 header, wasi:cli/run exported, the preview1 module left as it was', async () => {
    const { componentWit } = await import('@bytecodealliance/jco-transpile/wasm-tools');
    const bytes = await readFile(path.join(bundledFunctionsDir(), 'fibonacci-recursive', 'fibonacci-recursive.component.wasm'));
    // \0asm, then version 0x0d and layer 1 (a core module has version 1, layer 0).
    assert.deepEqual([...bytes.subarray(0, 8)], [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    const wit = await componentWit(bytes);
    assert.match(wit, /export wasi:cli\/run@0\.2\.\d+;/);
    assert.doesNotMatch(wit, /wasi:sockets|wasi:http/);
    const module = new WebAssembly.Module(await readFile(path.join(bundledFunctionsDir(), 'fibonacci-recursive', 'fibonacci-recursive.wasm')));
    assert.ok(!WebAssembly.Module.exports(module).some((e) => e.name === 'cabi_realloc'), 'the preview1 .wasm is built without the component glue');
  });

  test('a module is capped at 64 MiB of memory and exports only memory and _start', async () => {
    const module = new WebAssembly.Module(await readFile(path.join(bundledFunctionsDir(), 'factorial', 'factorial.wasm')));
    assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name).sort(), ['_start', 'memory']);
    const imports = WebAssembly.Module.imports(module);
    assert.ok(imports.every((i) => i.module === 'wasi_snapshot_preview1'), JSON.stringify(imports));
    // The limits live in the memory section; reading them back through an instance's Memory is not possible, so grow past them.
    const instance = new WebAssembly.Instance(module, {
      wasi_snapshot_preview1: Object.fromEntries(imports.map((i) => [i.name, () => 0])),
    });
    const memory = instance.exports.memory as WebAssembly.Memory;
    assert.throws(() => memory.grow(1024 - memory.buffer.byteLength / 65536 + 1), RangeError);
    assert.doesNotThrow(() => memory.grow(1024 - memory.buffer.byteLength / 65536));
  });
});

describe('native builds', () => {
  test('--arch arm64 cross-compiles a static aarch64 executable into build/<name>-arm64', async () => {
    const dir = await makeFunction('answer', '#include "nebula.h"\nstatic int run(const char *in) { (void)in; puts("42"); return 0; }\nNEBULA_MAIN(run)\n');
    const events: string[] = [];
    const [fn] = await buildFunctions([dir], { arch: 'arm64' }, (e) => events.push(`${e.type} ${e.name} ${e.kind}`));
    assert.equal(fn?.native?.path, path.join(dir, 'build', 'answer-arm64'));
    assert.equal(fn?.native?.arch, 'arm64');
    assert.equal(await elfMachine(path.join(dir, 'build', 'answer-arm64')), 183);
    assert.deepEqual(events, [
      'start answer wasm',
      'done answer wasm',
      'start answer component',
      'done answer component',
      'start answer native',
      'done answer native',
    ]);
  });

  test('the host build is a static x86-64 executable that runs', { skip: process.arch !== 'x64' }, async () => {
    const dir = await makeFunction('answer-host', '#include "nebula.h"\nstatic int run(const char *in) { (void)in; puts("42"); return 0; }\nNEBULA_MAIN(run)\n');
    const [fn] = await buildFunctions([dir], { arch: 'x64' });
    assert.ok(fn?.native);
    assert.equal(await elfMachine(fn.native.path), 62);
    const out = await runNative(fn.native.path, '\n');
    assert.deepEqual([out.code, out.stdout], [0, '42\n']);
  });
});

describe('errors', () => {
  test('a missing wasm compiler names the Debian packages to install', async () => {
    const dir = await makeFunction('nocc', 'int main(void) { return 0; }\n');
    const toolchain = { ...defaultToolchain(), clang: 'clang-not-installed-here' };
    await assert.rejects(buildFunctions([dir], { toolchain }), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.equal(error.code, 'toolchain-missing');
      assert.equal(error.message, 'nocc: the wasm compiler "clang-not-installed-here" is not installed');
      assert.match(error.hint ?? '', /apt-get install -y --no-install-recommends clang lld wasi-libc libclang-rt-14-dev-wasm32/);
      return true;
    });
  });

  test('a missing cross compiler names gcc-aarch64-linux-gnu and leaves the built .wasm in place', { skip: process.arch !== 'x64' }, async () => {
    const dir = await makeFunction('nocross', 'int main(void) { return 0; }\n');
    const toolchain = { ...defaultToolchain(), gcc: { x64: 'gcc', arm64: 'aarch64-not-installed-gcc' } };
    await assert.rejects(buildFunctions([dir], { arch: 'arm64', toolchain }), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.match(error.hint ?? '', /^Install the Debian package gcc-aarch64-linux-gnu/);
      return true;
    });
    assert.deepEqual((await readdir(dir)).sort(), ['build', 'nocross.c', 'nocross.component.wasm', 'nocross.wasm']);
    assert.deepEqual(await readdir(path.join(dir, 'build')), [], 'no half-written binary');
  });

  test('the real failures of an incomplete toolchain map to wasi-libc, libclang-rt-14-dev-wasm32 and libc6-dev', async () => {
    const source = path.join(tmp, 'hello.c');
    await writeFile(source, '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    await writeFile(path.join(tmp, 'bare.c'), 'int main(void) { return 0; }\n');
    const fail = async (cmd: string, args: string[]): Promise<string> => {
      const error = await exec(cmd, args, { cwd: tmp, env: { ...process.env, LC_ALL: 'C' } }).then(
        () => assert.fail(`${cmd} ${args.join(' ')} unexpectedly succeeded`),
        (e: { stderr: string }) => e,
      );
      return error.stderr;
    };
    // An empty sysroot is what a machine without wasi-libc looks like to clang.
    const noLibc = await fail('clang', ['--target=wasm32-wasi', `--sysroot=${tmp}`, '-o', 'x.wasm', 'hello.c']);
    assert.equal(diagnoseWasmFailure(noLibc), 'wasi-libc');
    const noRt = await fail('clang', ['--target=wasm32-wasi', `-resource-dir=${tmp}`, '-o', 'x.wasm', 'bare.c']);
    assert.equal(diagnoseWasmFailure(noRt), 'libclang-rt-14-dev-wasm32');
    const noStaticLibc = await fail('gcc', ['-static', `--sysroot=${tmp}`, '-o', 'x', 'hello.c']);
    assert.equal(diagnoseNativeFailure('x64', noStaticLibc, 'x64'), 'libc6-dev');
    assert.equal(diagnoseNativeFailure('arm64', noStaticLibc, 'x64'), 'libc6-dev-arm64-cross');
    assert.equal(diagnoseWasmFailure('clang: error: unable to execute command: Executable "wasm-ld" doesn\'t exist!'), 'lld');
  });

  test('a compile error in the function is reported with the compiler output and no package hint', async () => {
    const dir = await makeFunction('broken', 'int main(void) { return undefined_thing; }\n');
    await assert.rejects(buildFunctions([dir], { native: false }), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.equal(error.code, 'compile-failed');
      assert.match(error.message, /^broken: clang --target=wasm32-wasi failed:\n.*broken\.c:1:\d+: error: use of undeclared identifier 'undefined_thing'/s);
      assert.equal(error.hint, undefined);
      return true;
    });
    assert.deepEqual(await readdir(dir), ['broken.c']);
  });

  test('a folder without a .c source and a folder with an invalid name are refused before compiling', async () => {
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await assert.rejects(buildFunctions([empty]), { name: 'BuildError', message: 'function directory "' + empty + '" has no .c source' });
    const badName = await makeFunction('Bad_Name', 'int main(void) { return 0; }\n');
    await assert.rejects(buildFunctions([badName]), (error: unknown) => error instanceof UsageError && /"Bad_Name" is not a valid function name/.test(error.message));
  });
});

describe('nebula build (the command)', () => {
  test('builds the given folder, prints one progress line per artifact on stderr and exits 0', async () => {
    const dir = await makeFunction('cli-fn', '#include "nebula.h"\nstatic int run(const char *in) { (void)in; puts("1"); return 0; }\nNEBULA_MAIN(run)\n');
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', CLI, 'build', dir, '--arch', 'arm64'], { encoding: 'utf8' });
    assert.equal(stdout, '');
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 4, stderr);
    assert.match(lines[0] ?? '', /^cli-fn +wasm +\d+\.\d KiB {2}.*cli-fn\.wasm {2}\(\d+ ms\)$/);
    assert.match(lines[1] ?? '', /^cli-fn +component +\d+\.\d KiB {2}.*cli-fn\.component\.wasm {2}\(\d+ ms\)$/);
    assert.match(lines[2] ?? '', /^cli-fn +native +\d+\.\d KiB {2}.*build\/cli-fn-arm64 {2}\(\d+ ms\)$/);
    assert.equal(lines[3], 'built 1 function');
  });

  test('functions/* (folders and nebula.h) skips the header with a note and builds every folder, the last one too', async () => {
    const source = '#include "nebula.h"\nstatic int run(const char *in) { (void)in; puts("1"); return 0; }\nNEBULA_MAIN(run)\n';
    const first = await makeFunction('glob-a', source);
    // In a folder of its own: a nebula.h next to the functions would be the one they include.
    await mkdir(path.join(tmp, 'glob-files'), { recursive: true });
    const header = path.join(tmp, 'glob-files', 'nebula.h');
    await writeFile(header, '/* not a function */\n');
    const last = await makeFunction('glob-b', source);
    const { stderr } = await exec(process.execPath, ['--import', 'tsx', CLI, 'build', first, header, last, '--no-native'], { encoding: 'utf8' });
    assert.match(stderr, new RegExp(`^skipping ${header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a function folder$`, 'm'));
    assert.match(stderr, /^glob-b +wasm /m);
    assert.match(stderr, /^built 2 functions$/m);
  });

  test('a folder without sources exits 2 with the message and the hint on stderr', async () => {
    const dir = await makeFunction('cli-empty', '');
    await rm(path.join(dir, 'cli-empty.c'));
    const result = await exec(process.execPath, ['--import', 'tsx', CLI, 'build', dir], { encoding: 'utf8' }).then(
      () => assert.fail('nebula build succeeded on a folder without sources'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^nebula: function directory ".*cli-empty" has no \.c source\n {2}hint: A function is a folder/);
  });
});
