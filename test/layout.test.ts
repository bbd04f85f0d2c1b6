/** The module boundaries docs/development.md describes, checked on the sources so they stay true. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (/\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The module specifiers a file imports (static and dynamic). */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('src/console/ never imports src/tui/: the composition root (src/commands/run-console.ts) picks the presenter', async () => {
  for (const file of await sources('src/console')) {
    for (const spec of await importsOf(file)) assert.doesNotMatch(spec, /(^|\/)tui\//, `${file} imports ${spec}`);
  }
});

test('src/meter/meter.ts is the interface alone: it imports no implementation, only types', async () => {
  const text = await readFile('src/meter/meter.ts', 'utf8');
  const imports = text.split('\n').filter((l) => /^\s*import\b/.test(l) || /\bimport\s*\(/.test(l));
  for (const line of imports) assert.match(line, /^import type /, line);
});

test('the driver reads no clock of its own: time comes only from the injected nowUs', async () => {
  const text = await readFile('src/console/driver.ts', 'utf8');
  assert.doesNotMatch(text, /Date\.now\(|new Date\(\)|performance\.now\(|process\.hrtime/);
});
