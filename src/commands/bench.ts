/**
 * `nebula bench FUNCTION [INPUT] --runtimes wasm,docker -n 20`: a quick question without a suite
 * file, as with hyperfine. It builds a one-function suite and runs it through the console's own run
 * (preflight, clock offset, meter, run directory, signals) with a hyperfine-like comparison at the end.
 */
import { stringify } from 'yaml';
import { renderBenchOutcome } from '../console/bench-summary.js';
import { runConsole } from './run-console.js';
import { parseSuite } from '../console/suite.js';
import { UsageError } from '../errors.js';
import { FUNCTION_NAME, RUNTIMES, RuntimeSchema } from '../protocol/api.js';
import { numberFlag, stopOnSignals } from './flags.js';

export interface BenchFlags {
  runtimes?: string;
  runs?: string;
  warmup?: string;
  target?: string;
  token?: string;
  meter?: string;
  out?: string;
}

/** The --runtimes list, checked: every name known, none twice. */
function runtimesFlag(raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!RuntimeSchema.safeParse(name).success) throw new UsageError(`--runtimes: "${name}" is unknown; use any of ${RUNTIMES.join(', ')}`);
  }
  if (names.length === 0 || new Set(names).size !== names.length) throw new UsageError(`--runtimes "${raw}": list each runtime once, e.g. wasm,docker`);
  return names;
}

export async function benchCommand(name: string, input: string | undefined, opts: BenchFlags): Promise<number> {
  if (!FUNCTION_NAME.test(name)) throw new UsageError(`"${name}" is not a function name (^[a-z0-9][a-z0-9-]{0,62}$)`);
  const runtimes = runtimesFlag(opts.runtimes ?? 'wasm');
  const repetitions = numberFlag(opts.runs ?? '10', '-n/--runs', { min: 1, max: 100_000, integer: true }) ?? 10;
  const warmup = numberFlag(opts.warmup ?? '1', '--warmup', { min: 0, max: 1000, integer: true }) ?? 1;
  // Through the suite parser, so an ad-hoc run gets exactly a suite's defaults and checks.
  const suite = parseSuite(
    stringify({
      name: `bench-${name}`.slice(0, 63),
      runtimes,
      repetitions,
      warmup,
      functions: [{ name, inputs: [input ?? ''] }],
    }),
    'nebula bench',
  );
  const what = input === undefined || input === '' ? name : `${name} ${input}`;
  const signals = stopOnSignals((text) => process.stderr.write(`\nnebula: ${text}\n`));
  try {
    const result = await runConsole({
      suite,
      target: opts.target ?? 'http://127.0.0.1:3090',
      meter: opts.meter,
      token: opts.token,
      out: opts.out ?? 'results',
      ci: true,
      stdout: process.stdout,
      stderr: process.stderr,
      render: (outcome, dir) => renderBenchOutcome(outcome, what, dir),
      onDriver: (driver) => signals.attach(driver),
    });
    return result.exitCode;
  } finally {
    signals.dispose();
  }
}
