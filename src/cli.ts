/**
 * The `nebula` binary: parses flags and dispatches to src/commands/*. This is the only place that
 * prints fatal errors and sets the exit code. Commands are imported lazily so that
 * `nebula serve` loads no React and `nebula console --ci` loads no Ink.
 */
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, NebulaError, exitCodeTable } from './errors.js';
import { escapeControl } from './terminal-text.js';
import { VERSION } from './version.js';

type ExitResult = number | void;

/** Runs a command body and records its exit code; errors go to the top-level handler. */
async function run(body: () => Promise<ExitResult>): Promise<void> {
  const code = await body();
  if (typeof code === 'number') process.exitCode = code;
}

const DEFAULT_TARGET = 'http://127.0.0.1:3090';

/** --target, also from NEBULA_TARGET (a flag given wins over the environment). */
function targetOption(description: string): Option {
  return new Option('--target <url>', description).env('NEBULA_TARGET');
}

/** --token, also from NEBULA_TOKEN (keeps the token out of shell history and `ps`). */
function tokenOption(description = 'the server token'): Option {
  return new Option('--token <token>', description).env('NEBULA_TOKEN');
}

/** --meter, also from NEBULA_METER (so a suite need not hard-code a lab's PDU address). */
function meterOption(description: string): Option {
  return new Option('--meter <spec>', description).env('NEBULA_METER');
}

function buildProgram(): Command {
  const program = new Command('nebula')
    .description('Measure what WebAssembly saves over containers: cold start, run time and energy per invocation.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nExit codes (every command):\n${exitCodeTable()}`)
    .exitOverride();

  program
    .command('serve')
    .description('run the FaaS host: functions as wasm in-process, docker containers or native processes')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '3090')
    .option('--store <dir>', 'function store directory (survives restarts)', '.nebula/store')
    .addOption(tokenOption('require Authorization: Bearer <token> on mutating endpoints'))
    .option('--workers <n>', 'worker threads of each in-process runtime, wasm and component (default: number of CPUs)')
    .option('--timeout-ms <ms>', 'stop a function after this long (504)', '30000')
    .option('--max-memory-mb <mb>', 'memory cap per wasm instance and container', '256')
    .option('--queue <n>', 'invocations allowed to wait per runtime before a fast 503 (default: 128 per worker/process/container slot)')
    .option('--queue-timeout-ms <ms>', 'longest wait for a slot before 503 queue-timeout', '10000')
    .option('--max-processes <n>', 'native processes run at once (default: 2 × CPUs)')
    .option('--max-containers <n>', 'containers run at once (default: 2 × CPUs)')
    .option('--docker-socket <path>', 'Docker engine socket (env DOCKER_HOST also works)')
    .option('--cgroups', 'run each native call in its own cgroup v2 (kills escaped processes at exit, memory.max); costs a cgroup move per call')
    .option('--max-input-kb <kb>', 'largest invocation input (413 above)', '1024')
    .option('--max-artifact-mb <mb>', 'largest uploaded artifact (413 above)', '256')
    .option('--max-uploads <n>', 'artifact uploads received at once (8 more wait, then 503)', '2')
    .option('--max-connections <n>', 'open connections; past it the oldest idle one is closed (default 1024 or half of ulimit -n)')
    .option('--header-timeout-ms <ms>', 'request headers must arrive within this (408)', '10000')
    .option('--request-timeout-ms <ms>', 'a whole request, body included, must arrive within this (408)', '300000')
    .option('--body-timeout-ms <ms>', 'longest pause between two chunks of a request body (408)', '10000')
    .option('--max-header-kb <kb>', 'largest request head (431 above)', '16')
    .option('--systemd-unit', 'print a systemd service running this serve with these flags (token from /etc/nebula/serve.env), then exit')
    .action(async (opts) => run(async () => (await import('./commands/serve.js')).serveCommand(opts)));

  program
    .command('build')
    .description('build functions: .wasm (clang, wasm32-wasi), .component.wasm (WASI 0.2) and a static native executable (gcc)')
    .argument('[functions...]', 'function directories (default: every folder in functions/)')
    .addOption(new Option('--arch <arch>', 'native architecture').choices(['x64', 'arm64']))
    .option('--no-native', 'build no native executables')
    .option('--no-component', 'build no WASI 0.2 components')
    .action(async (paths: string[], opts) => run(async () => (await import('./commands/build.js')).buildCommand(paths, opts)));

  program
    .command('deploy')
    .description('upload built functions (or artifacts by path) to a target')
    .argument('[functions...]', 'function directories or artifact files (default: every folder in functions/)')
    .addOption(targetOption('the nebula serve to deploy to').default(DEFAULT_TARGET))
    .addOption(tokenOption())
    .option('--name <name>', 'function name for artifact files (or a single function directory)')
    .option('--no-native', 'upload no native executables from function directories (and so no docker image)')
    .option('--no-component', 'upload no WASI 0.2 components from function directories')
    .action(async (paths: string[], opts) => run(async () => (await import('./commands/deploy.js')).deployCommand(paths, opts)));

  program
    .command('invoke')
    .description('invoke a function once and print its InvocationResult JSON')
    .argument('<name>', 'function name')
    .argument('[input]', 'input text (default: read from stdin when piped, else empty)')
    .option('--runtime <runtime>', 'wasm, component, docker or native', 'wasm')
    .addOption(targetOption('the nebula serve to call').default(DEFAULT_TARGET))
    .addOption(tokenOption())
    .action(async (name: string, input: string | undefined, opts) =>
      run(async () => (await import('./commands/invoke.js')).invokeCommand(name, input, opts)),
    );

  program
    .command('console')
    .description('run a YAML suite with a live terminal UI (or headless with --ci)')
    .argument('<suite>', 'suite file, e.g. suites/quick.yaml')
    .option('--ci', 'no UI: progress on stderr, summary on stdout (exit codes: nebula --help)')
    .option('--out <dir>', 'results directory', 'results')
    .addOption(targetOption('override the suite target'))
    .addOption(meterOption('override the suite meter: modbus://HOST[:PORT][?unit=N&map=NAME], sim, rapl, none'))
    .addOption(tokenOption())
    .action(async (suite: string, opts) => run(async () => (await import('./commands/console.js')).consoleCommand(suite, opts)));

  program
    .command('bench')
    .description('a quick comparison without a suite file, hyperfine-style: one function, one input, several runtimes')
    .argument('<function>', 'a deployed function, e.g. fibonacci-recursive')
    .argument('[input]', 'its input text, e.g. 30')
    .option('--runtimes <list>', 'comma-separated runtimes to compare', 'wasm')
    .option('-n, --runs <n>', 'measured invocations per runtime', '10')
    .option('--warmup <n>', 'discarded invocations per runtime first', '1')
    .addOption(targetOption('the nebula serve to call').default(DEFAULT_TARGET))
    .addOption(tokenOption())
    .addOption(meterOption('a meter to read while it runs (default none)'))
    .option('--out <dir>', 'results directory (the run is kept like a suite run)', 'results')
    .action(async (name: string, input: string | undefined, opts) =>
      run(async () => (await import('./commands/bench.js')).benchCommand(name, input, opts)),
    );

  program
    .command('report')
    .description('statistics and the wasm-vs-container comparison for one or more run directories')
    .argument('<runs...>', 'run directories (results/<suite>-<stamp>) or thesis result files (*.json)')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'csv', 'json', 'html', 'thesis']).default('md'))
    .option('--out <file>', 'write to a file instead of stdout ("-" is stdout)', '-')
    .option('--baseline <runtime>', 'runtime the ratios are taken against', 'wasm')
    .option('--seed <n>', 'bootstrap seed (same seed, same intervals)', '1')
    .option('--resamples <n>', 'bootstrap resamples per confidence interval', '2000')
    .option('--compare', 'before/after: change of every metric from the first run to the second, with CI and p (benchstat-like)')
    .option('--fail-above <percent>', 'with --compare: exit 1 when a metric got significantly worse by more than this, e.g. 10%')
    .action(async (runs: string[], opts) => run(async () => (await import('./commands/report.js')).reportCommand(runs, opts)));

  const meter = program.command('meter').description('power meter tools');
  meter
    .command('read')
    .description('read one sample and print it as JSON')
    .argument('<spec>', 'modbus://HOST[:PORT][?unit=N&map=NAME&voltage=measured|240], sim, rapl, none')
    .action(async (spec: string) => run(async () => (await import('./commands/meter.js')).meterReadCommand(spec)));
  meter
    .command('watch')
    .description('live power sparkline with the current watts and sample rate')
    .argument('<spec>', 'meter spec, as for read')
    .option('--interval-ms <ms>', 'sampling interval (default: as fast as the meter answers)')
    .action(async (spec: string, opts) => run(async () => (await import('./commands/meter.js')).meterWatchCommand(spec, opts)));
  meter
    .command('simulate')
    .description('serve a Gude-compatible PDU over Modbus TCP whose power follows this machine\'s CPU load')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'Modbus TCP port', '5020')
    .option('--idle-w <watts>', 'idle power', '2.5')
    .option('--core-w <watts>', 'extra watts per fully busy core', '1.5')
    .action(async (opts) => run(async () => (await import('./commands/meter.js')).meterSimulateCommand(opts)));

  program
    .command('demo')
    .description('the whole tour on one machine: local server, bundled functions, simulated meter, quick suite')
    .option('--ci', 'no UI even on a terminal')
    .option('--out <dir>', 'results directory', 'results')
    .option('--suite <file>', 'suite to run', 'suites/quick.yaml')
    .action(async (opts) => run(async () => (await import('./commands/demo.js')).demoCommand(opts)));

  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the usage message; --help and --version exit 0.
      process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    if (error instanceof NebulaError) {
      process.stderr.write(`nebula: ${escapeControl(error.message)}\n`);
      if (error.hint) process.stderr.write(`  hint: ${escapeControl(error.hint)}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(
      `nebula: internal error (this is a bug, please report it with the text below)\n${
        escapeControl(error instanceof Error ? (error.stack ?? error.message) : String(error))
      }\n`,
    );
    process.exitCode = ExitCode.Bug;
  }
}

await main(process.argv);
