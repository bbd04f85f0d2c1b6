import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { EXIT_CODES, exitCodeTable } from '../../src/errors.js';
import { ROOT, runCli } from '../console/helpers.js';

test('every exit code has one meaning, and README.md lists exactly the table in src/errors.ts', async () => {
  const codes = EXIT_CODES.map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length, 'no code listed twice');
  const readme = await readFile(`${ROOT}README.md`, 'utf8');
  const rows = [...readme.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
  assert.deepEqual(rows, EXIT_CODES.map((e) => ({ code: e.code, meaning: e.meaning })));
});

test('nebula --help ends with the exit code table', async () => {
  const { code, stdout } = await runCli(['--help']).done;
  assert.equal(code, 0);
  assert.ok(stdout.endsWith(`Exit codes (every command):\n${exitCodeTable()}\n`), stdout);
  assert.match(stdout, /^ {2}130 {2}interrupted \(Ctrl-C, SIGTERM, q\)/m);
  assert.ok(stdout.split('\n').every((line) => line.length <= 80), 'the help fits 80 columns');
});
