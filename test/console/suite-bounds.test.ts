/**
 * Suites built to exhaust the console (docs/reliability.md): each is a SuiteError (exit 2) naming
 * file:line, found before anything is planned — never an internal error or a heap exhaustion.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { parseSuite } from '../../src/console/suite.js';
import { SuiteError } from '../../src/errors.js';
import { escapeControl } from '../../src/terminal-text.js';
import { runCli, tempDir, writeSuite } from './helpers.js';

const HEAD = 'name: t\nruntimes: [wasm]\nfunctions: [{ name: fibonacci-recursive, inputs: [1] }]\n';

function suiteError(text: string): SuiteError {
  try {
    parseSuite(text, 'suites/t.yaml');
  } catch (error) {
    assert.ok(error instanceof SuiteError, `expected a SuiteError, got ${String(error)}`);
    return error;
  }
  assert.fail('the suite was accepted');
}

test('a YAML alias bomb is a SuiteError at the first alias, not an internal error', () => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) {
    const prev = String.fromCharCode(96 + i);
    levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  const error = suiteError(`${levels.join('\n')}\n${HEAD}`);
  assert.match(error.message, /^suites\/t\.yaml:2:\d+: YAML aliases expand to too many nodes/);
});

test('nesting deeper than 32 levels is a SuiteError with its line, for flow and block style', () => {
  const flow = suiteError(`${HEAD}description: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
  assert.match(flow.message, /^suites\/t\.yaml:4:\d+: the YAML nests deeper than 32 levels$/);
  const block = suiteError(`${HEAD}description:\n${Array.from({ length: 40 }, (_, i) => `${' '.repeat(i + 1)}-\n`).join('')}`);
  assert.match(block.message, /^suites\/t\.yaml:\d+:\d+: the YAML nests deeper than 32 levels$/);
});

test('repetitions: 100000000 is refused at once with the count, the line and max_invocations to raise it', () => {
  const error = suiteError(`${HEAD}repetitions: 100000000\n`);
  assert.equal(error.message, 'suites/t.yaml:4:14: the suite makes 100,000,000 invocations, more than the limit of 1,000,000');
  assert.match(error.hint ?? '', /max_invocations/);
  const raised = parseSuite(`${HEAD}repetitions: 2000000\nmax_invocations: 2000000\n`, 'suites/t.yaml');
  assert.equal(raised.repetitions, 2_000_000);
});

test('escapeControl shows ESC, C1 and bidi controls as escapes and keeps newlines and tabs', () => {
  assert.equal(escapeControl('a\x1b[31mb\u009b\u202e\tc\n'), 'a\\x1b[31mb\\x9b\\u{202e}\tc\n');
});

test('an escape sequence in a suite key reaches the terminal escaped (exit 2)', async () => {
  const dir = await tempDir();
  try {
    const file = await writeSuite(dir, `${HEAD}"\\e[2J\\e[31mred": 1\n`);
    const { code, stderr } = await runCli(['console', file, '--ci']).done;
    assert.equal(code, 2);
    assert.ok(!stderr.includes('\x1b'), `raw ESC on stderr: ${JSON.stringify(stderr)}`);
    assert.match(stderr, /\\x1b\[31mred: unknown key/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
