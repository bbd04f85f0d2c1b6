/** `nebula console SUITE.yaml [--ci] [--out DIR] [--target URL] [--meter SPEC]`. */
import { runConsole } from './run-console.js';
import { loadSuite } from '../console/suite.js';
import { stopOnSignals } from './flags.js';

export interface ConsoleFlags {
  ci?: boolean;
  out?: string;
  target?: string;
  meter?: string;
  token?: string;
}

/** Validates the suite, runs it with the UI (or --ci) and returns the run's exit code. */
export async function consoleCommand(suiteFile: string, opts: ConsoleFlags): Promise<number> {
  const suite = await loadSuite(suiteFile);
  // Without a terminal there is nothing to draw on: behave as --ci.
  const ci = Boolean(opts.ci) || !process.stdout.isTTY;
  const signals = stopOnSignals((text) => process.stderr.write(`\nnebula: ${text}\n`));
  try {
    const result = await runConsole({
      suite,
      target: opts.target,
      meter: opts.meter,
      token: opts.token,
      out: opts.out ?? 'results',
      ci,
      stdout: process.stdout,
      stderr: process.stderr,
      onDriver: (driver) => signals.attach(driver),
    });
    return result.exitCode;
  } finally {
    signals.dispose();
  }
}
