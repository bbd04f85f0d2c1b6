import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSuite, parseSuite } from '../../src/console/suite.js';
import { SuiteError } from '../../src/errors.js';

function suiteError(text: string): SuiteError {
  try {
    parseSuite(text, 'suites/t.yaml');
  } catch (error) {
    assert.ok(error instanceof SuiteError, `expected a SuiteError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail('the suite was accepted');
}

const VALID = `name: t
runtimes: [wasm, docker]
functions:
  - { name: fibonacci-recursive, inputs: { from: 0, to: 4, step: 2 } }
  - { name: factorial, inputs: [1, "20"], runtimes: [native] }
`;

test('a valid suite expands ranges inclusively, keeps list inputs as text and fills defaults', () => {
  const suite = parseSuite(VALID, 'suites/t.yaml');
  assert.deepEqual(suite.functions, [
    { name: 'fibonacci-recursive', inputs: ['0', '2', '4'], runtimes: ['wasm', 'docker'], modes: ['cold'] },
    { name: 'factorial', inputs: ['1', '20'], runtimes: ['native'], modes: ['cold'] },
  ]);
  assert.equal(suite.repetitions, 1);
  assert.equal(suite.warmup, 0);
  assert.equal(suite.order, 'interleaved');
  assert.equal(suite.meter, 'none');
  assert.equal(suite.retries, 2);
  assert.deepEqual(suite.thresholds, []);
  assert.equal(suite.file, 'suites/t.yaml');
});

test('an unknown key is an error naming its line and the key it was probably meant to be', () => {
  const error = suiteError(VALID.replace('runtimes: [wasm, docker]', 'runtimes: [wasm, docker]\nrepetition: 3'));
  assert.equal(error.message, 'suites/t.yaml:3:1: repetition: unknown key (did you mean "repetitions"?)');
});

test('a bad value names file, line, column and field; several errors are listed in file order', () => {
  const error = suiteError(`name: t
runtimes: [wasm, dockr]
functions:
  - { name: fibonacci-recursive, inputs: { from: 0, to: 4, step: 0 } }
  - name: factorial
    inputs: [1]
    extra: 1
`);
  assert.equal(
    error.message,
    [
      'suites/t.yaml:2:18: runtimes[1]: must be one of "wasm", "component", "docker", "native"',
      '  suites/t.yaml:4:66: functions[0].inputs.step: must be > 0',
      '  suites/t.yaml:7:5: functions[1].extra: unknown key (allowed: name, inputs, runtimes, mode, modes)',
    ].join('\n'),
  );
});

test('a missing required key points at the mapping that lacks it', () => {
  const error = suiteError('name: t\nfunctions:\n  - { name: factorial, inputs: [1] }\n');
  assert.equal(error.message, 'suites/t.yaml:1:1: runtimes: is required (expected array)');
});

test('an empty range is an error on the inputs line', () => {
  const error = suiteError('name: t\nruntimes: [wasm]\nfunctions:\n  - name: factorial\n    inputs: { from: 5, to: 1 }\n');
  assert.equal(error.message, 'suites/t.yaml:5:13: functions[0].inputs: the range is empty (`from` is above `to`)');
});

test('a function listed twice is an error on its second name', () => {
  const error = suiteError('name: t\nruntimes: [wasm]\nfunctions:\n  - { name: factorial, inputs: [1] }\n  - { name: factorial, inputs: [2] }\n');
  assert.equal(error.message, 'suites/t.yaml:5:13: functions[1].name: "factorial" is listed twice');
});

test('thresholds need exactly one of metric/ratio and a bound', () => {
  const error = suiteError(`${VALID}thresholds:
  - { metric: startup_us, runtime: wasm, stat: p50 }
  - { ratio: startup_us, of: docker }
`);
  assert.equal(
    error.message,
    [
      'suites/t.yaml:7:5: thresholds[0]: a threshold needs `below` or `above`',
      '  suites/t.yaml:8:5: thresholds[1]: a `ratio` threshold needs `of` and `over` runtimes',
      '  suites/t.yaml:8:5: thresholds[1]: a threshold needs `below` or `above`',
    ].join('\n'),
  );
  const ok = parseSuite(`${VALID}thresholds:\n  - { ratio: isolated_energy_uwh, of: docker, over: wasm, above: 10 }\n`, null);
  assert.deepEqual(ok.thresholds, [{ ratio: 'isolated_energy_uwh', of: 'docker', over: 'wasm', stat: 'p50', above: 10 }]);
});

test('invalid YAML is reported with its line', () => {
  const error = suiteError('name: t\n  bad: [\n');
  assert.match(error.message, /^suites\/t\.yaml:1:7: invalid YAML: /);
});

test('a missing file is a SuiteError naming it', async () => {
  await assert.rejects(loadSuite('/nonexistent/suite.yaml'), (error: unknown) => {
    assert.ok(error instanceof SuiteError);
    assert.match(error.message, /^cannot read suite \/nonexistent\/suite\.yaml: /);
    return true;
  });
});

test('the bundled suites validate; default.yaml is the thesis sweep', async () => {
  const def = await loadSuite('suites/default.yaml');
  assert.deepEqual(def.runtimes, ['wasm', 'docker']);
  assert.equal(def.repetitions, 6);
  assert.equal(def.order, 'interleaved');
  assert.equal(def.target, 'http://raspberrypi.local:3090');
  assert.equal(def.meter, 'modbus://192.168.68.70:502');
  assert.deepEqual(
    def.functions.map((f) => [f.name, f.inputs.length, f.inputs[0], f.inputs.at(-1)]),
    [
      ['fibonacci-recursive', 41, '0', '40'],
      ['exponential', 354, '0', '706'],
      ['factorial', 131, '0', '130'],
      ['prime-number', 601, '0', '6000'],
    ],
  );
  const quick = await loadSuite('suites/quick.yaml');
  assert.deepEqual(quick.runtimes, ['wasm', 'component', 'docker', 'native']);
  assert.equal(quick.functions.length, 4);
  const pi = await loadSuite('suites/pi-energy.yaml');
  assert.ok(pi.baseline && pi.baseline.seconds > 0 && pi.baseline.after);
});

test('start modes: cold by default; `modes` per suite, `mode` per function; both at once, or prewarmed under load, is refused', () => {
  const base = 'name: t\nruntimes: [wasm]\n';
  assert.deepEqual(parseSuite(`${base}functions:\n  - { name: f, inputs: [1] }\n`, 's.yaml').functions[0]!.modes, ['cold']);
  const both = parseSuite(`${base}modes: [cold, prewarmed]\nfunctions:\n  - { name: f, inputs: [1] }\n  - { name: g, inputs: [1], mode: prewarmed }\n`, 's.yaml');
  assert.deepEqual(both.functions.map((f) => f.modes), [['cold', 'prewarmed'], ['prewarmed']]);
  assert.throws(() => parseSuite(`${base}mode: cold\nmodes: [prewarmed]\nfunctions:\n  - { name: f, inputs: [1] }\n`, 's.yaml'), /give `mode` or `modes`, not both/);
  assert.throws(() => parseSuite(`${base}mode: warm\nfunctions:\n  - { name: f, inputs: [1] }\n`, 's.yaml'), /mode/);
  assert.throws(
    () => parseSuite(`${base}mode: prewarmed\nload: { concurrency: 2, seconds: 1 }\nfunctions:\n  - { name: f, inputs: [1] }\n`, 's.yaml'),
    /prewarmed` applies to sequential runs only/,
  );
});
