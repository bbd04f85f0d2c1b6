/**
 * Builds the C test functions in test/fixtures/functions/ with the real toolchain (clang wasm32-wasi,
 * gcc -static) into the gitignored build dir, cached by a hash of source + harness + kind, so repeated
 * runs are fast. Concurrent test files may build the same fixture: output is written atomically.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { adaptToComponent } from '../../src/build/component.js';
import { componentGlueSource } from '../../src/build/functions.js';
import { COMPONENT_CORE_FLAGS } from '../../src/build/toolchain.js';

const run = promisify(execFile);
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/functions/', import.meta.url));
const BUILD_DIR = join(FIXTURES_DIR, 'build');
const HARNESS = fileURLToPath(new URL('../../functions/nebula.h', import.meta.url));

export type FixtureName = 'counter' | 'echo' | 'trap' | 'loop' | 'fail' | 'hog' | 'nostart' | 'clock' | 'forker' | 'setsid';
export type FixtureKind = 'wasm' | 'component' | 'native';

/** Compiles fixture `name` for `kind` (cached) and returns the artifact's path. */
export async function buildFixture(name: FixtureName, kind: FixtureKind): Promise<string> {
  const source = join(FIXTURES_DIR, `${name}.c`);
  const hash = createHash('sha256')
    .update(kind)
    .update(await readFile(source))
    .update(kind === 'component' ? await readFile(componentGlueSource()) : '')
    .update(await readFile(HARNESS))
    .digest('hex')
    .slice(0, 16);
  const out = join(BUILD_DIR, `${name}-${hash}${{ wasm: '.wasm', component: '.component.wasm', native: '' }[kind]}`);
  if (existsSync(out)) return out;
  await mkdir(BUILD_DIR, { recursive: true });
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  const core = `${tmp}.core.wasm`;
  try {
    if (kind === 'wasm') await run('clang', ['--target=wasm32-wasi', '-O2', '-o', tmp, source]);
    else if (kind === 'native') await run('gcc', ['-O2', '-static', '-o', tmp, source]);
    else {
      // The same path as `nebula build`: a core module with functions/nebula-component.c, adapted.
      await run('clang', ['--target=wasm32-wasi', '-O2', ...COMPONENT_CORE_FLAGS, '-o', core, source, componentGlueSource()]);
      await writeFile(tmp, await adaptToComponent(name, await readFile(core)));
    }
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
    await rm(core, { force: true });
  }
  return out;
}

/** The fixture's bytes (building it first). */
export async function fixtureBytes(name: FixtureName, kind: FixtureKind): Promise<Buffer> {
  return readFile(await buildFixture(name, kind));
}
