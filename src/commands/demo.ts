/**
 * `nebula demo [--ci] [--out DIR] [--suite FILE]`: the whole tour on one machine, in the real
 * topology: `nebula serve` (free port, temporary store) and the simulated Gude PDU (`nebula meter
 * simulate`, free port) run as their own processes, as on a bench, so the console does not share an
 * event loop with the server it measures. Builds and deploys the bundled functions, reads the PDU
 * through the real modbus:// meter, runs the suite (the TUI on a terminal, --ci otherwise), and
 * stops and removes everything it started, also on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TargetClient } from '../client/target.js';
import { deployFunctions } from '../deploy/index.js';
import { runConsole } from './run-console.js';
import { thresholdLabel } from '../console/thresholds.js';
import { loadSuite, withoutRuntime, type Suite } from '../console/suite.js';
import { InterruptedError, UsageError } from '../errors.js';
import { artifactPaths, buildFunctions, bundledFunctionsDir, hostArch } from '../build/index.js';
import { startChildService } from './child-service.js';
import { stopOnSignals } from './flags.js';

export interface DemoFlags {
  ci?: boolean;
  out?: string;
  suite?: string;
}

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The suite file as given, else the one bundled with the package (so `npx nebula demo` works anywhere). */
function resolveSuite(file: string): string {
  if (existsSync(file)) return file;
  const bundled = join(PACKAGE_ROOT, file);
  return existsSync(bundled) ? bundled : file;
}

/** Runs the demo; returns the run's exit code. */
export async function demoCommand(opts: DemoFlags): Promise<number> {
  const say = (text: string): void => {
    process.stderr.write(`demo: ${text}\n`);
  };
  const loaded = await loadSuite(resolveSuite(opts.suite ?? 'suites/quick.yaml'));
  const cleanups: (() => Promise<void>)[] = [];
  const signals = stopOnSignals(say);
  const check = (): void => {
    if (signals.interrupted) throw new InterruptedError('demo interrupted before the run started');
  };
  try {
    const store = await mkdtemp(join(tmpdir(), 'nebula-demo-store-'));
    cleanups.push(() => rm(store, { recursive: true, force: true }));
    // Lines the services print once the run has started wait for its end: they would tear the TUI.
    const later: string[] = [];
    let running = false;
    const relay = (who: string) => (line: string): void => {
      if (running) later.push(`${who}: ${line}`);
      else say(`${who}: ${line}`);
    };
    cleanups.push(async () => {
      for (const line of later.splice(0)) say(line);
    });
    const server = await startChildService(['serve', '--host', '127.0.0.1', '--port', '0', '--store', store], /listening on (http:\/\/\S+)/, relay('server'));
    cleanups.push(() => server.close());
    say(`server on ${server.address} (pid ${server.pid}, store ${store})`);
    check();
    const client = new TargetClient(server.address, { timeoutMs: 300_000 });
    cleanups.push(() => client.close());
    const health = await client.health();

    let suite: Suite = loaded;
    if (!health.runtimes.docker && suite.functions.some((f) => f.runtimes.includes('docker'))) {
      say(`no Docker engine answers (${health.unavailable?.docker ?? 'unknown reason'}): running without the docker runtime`);
      const adapted = withoutRuntime(suite, 'docker');
      suite = adapted.suite;
      for (const t of adapted.dropped) say(`threshold dropped, it needs docker: ${thresholdLabel(t)}`);
      if (suite.functions.every((f) => f.runtimes.length === 0)) throw new UsageError(`suite ${suite.name} has no runtime left without docker`);
    }

    const arch = hostArch();
    const wantNative = arch !== undefined && suite.functions.some((f) => f.runtimes.includes('native') || f.runtimes.includes('docker'));
    const wantComponent = suite.functions.some((f) => f.runtimes.includes('component'));
    for (const fn of suite.functions) {
      const dir = join(bundledFunctionsDir(), fn.name);
      const paths = artifactPaths(dir, arch ?? 'x64');
      if (!existsSync(paths.wasm) || (wantNative && !existsSync(paths.native)) || (wantComponent && !existsSync(paths.component))) {
        say(`building ${fn.name}…`);
        await buildFunctions([dir], { native: wantNative, component: wantComponent });
      }
      check();
      const report = await deployFunctions(client, [dir], { native: wantNative, component: wantComponent });
      for (const note of report.notes) say(note);
      say(`deployed ${fn.name}`);
      check();
    }

    const pdu = await startChildService(['meter', 'simulate', '--host', '127.0.0.1', '--port', '0'], /meter spec: (modbus:\/\/\S+)/, relay('pdu'));
    cleanups.push(() => pdu.close());
    say(`simulated Gude PDU on ${pdu.address} (pid ${pdu.pid}; power follows this machine's CPU load)`);
    check();

    running = true;
    const result = await runConsole({
      suite,
      target: server.address,
      meter: pdu.address,
      out: opts.out ?? 'results',
      ci: Boolean(opts.ci) || !process.stdout.isTTY,
      stdout: process.stdout,
      stderr: process.stderr,
      onDriver: (driver) => signals.attach(driver),
    });
    say(`done: results in ${result.dir} — analyse with \`nebula report ${result.dir}\``);
    return result.exitCode;
  } finally {
    signals.dispose();
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  }
}
