/**
 * Performance harness for `nebula console` (not a test). DESIGN.md goal: "the console keeps up with a
 * meter at ≥ 500 samples/s while rendering, without delaying invocations". Measured side by side in
 * one run, in blocks interleaved round by round (rotated order) to spread the noise of a shared machine:
 *   a. no meter, no UI                          — the invocation round trip alone
 *   b. modbus meter back to back, no UI         — the simulated PDU over Modbus TCP on loopback
 *   c. modbus meter + the Ink UI                — ConsoleApp rendered into a fake 120×50 stdout
 *   d. sim meter + the Ink UI                   — in-process meter, faster than modbus-serial's server
 *   e. synthetic 1000 samples/s + the Ink UI    — a fixed-rate sample source through the same path
 *   f. (e) with the UI already holding --seed results for the cell (a long run's screen: checks that
 *      the table's cost does not grow with the results already shown)
 * Every block is a real console run: the Driver (src/console/driver.ts) invoking fibonacci-recursive 1
 * on wasm against an in-process `nebula serve`, the recorder writing the run directory
 * (invocations.jsonl, samples.jsonl) and, with a UI, the driver feed + reducer + Ink screen.
 * Reported per configuration: round trip p50/p90 (from the driver's own client.sent_us/replied_us) and
 * its ratio to (a), samples/s recorded, frames/s written, the UI's own samples/s readout, event-loop
 * delay p99 and CPU time. The simulated PDU runs in a worker thread by default, since a real PDU is a
 * separate device (--pdu-inline puts it on the console's own loop, as bench/meter-bench.ts does).
 * Run: node --import tsx bench/console-bench.ts [--n 400] [--rounds 4] [--seed 50000] [--only bcdef] [--pdu-inline] [--react-dev]
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { TargetClient } from '../src/client/target.js';
import { nowUs } from '../src/clock.js';
import { Driver, type DriverMeter, type SampleSource } from '../src/console/driver.js';
import { meterAttribution } from '../src/console/energy.js';
import { preflight } from '../src/console/preflight.js';
import { recordRun } from '../src/console/recorder.js';
import { RunDirectory } from '../src/console/run-directory.js';
import { parseSuite } from '../src/console/suite.js';
import type { Meter } from '../src/meter/meter.js';
import { openMeter } from '../src/meter/open-meter.js';
import { Sampler } from '../src/meter/sampler.js';
import { startSimulatedPdu } from '../src/meter/simulated-pdu.js';
import type { Gap, InvocationLine, Sample } from '../src/protocol/results.js';
import { startServer } from '../src/server/index.js';
import { initialState, reduce } from '../src/tui/state.js';
import { median, quantile } from '../src/report/stats.js';
import { line } from '../test/tui/lines.js';
import { flagArg, numberArg, stringArg } from './args.js';

type ConfigId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
interface Config {
  id: ConfigId;
  label: string;
  meter: 'none' | 'modbus' | 'sim' | 'synthetic';
  ui: boolean;
  /** Results the UI already holds when the block starts (a long run's screen). */
  seeded?: boolean;
}
const ALL_CONFIGS: Config[] = [
  { id: 'a', label: 'no meter, no UI', meter: 'none', ui: false },
  { id: 'b', label: 'modbus meter (sim. PDU), no UI', meter: 'modbus', ui: false },
  { id: 'c', label: 'modbus meter + Ink UI', meter: 'modbus', ui: true },
  { id: 'd', label: 'sim meter + Ink UI', meter: 'sim', ui: true },
  { id: 'e', label: 'synthetic 1000/s + Ink UI', meter: 'synthetic', ui: true },
  { id: 'f', label: '(e) + UI holding SEED results', meter: 'synthetic', ui: true, seeded: true },
];

interface Totals {
  rttUs: number[];
  /** Per round: this block's round-trip p50. */
  blockP50: number[];
  samples: number;
  frames: number;
  seconds: number;
  cpuUs: number;
  uiRates: number[];
  lag: IntervalHistogram;
}

/** A fixed-rate sample source shaped like the Sampler: `hz` samples per second, stamped on the bench clock. */
class SyntheticSource extends EventEmitter<{ sample: [Sample]; gap: [Gap] }> implements SampleSource {
  #timer: NodeJS.Timeout | undefined;
  constructor(readonly hz: number) {
    super();
  }
  start(): void {
    const t0 = nowUs();
    const stepUs = 1e6 / this.hz;
    let n = 0;
    // Timers fire every ~1–2 ms: emit whatever is due, so the rate holds at any timer granularity.
    this.#timer = setInterval(() => {
      const due = Math.floor((nowUs() - t0) / stepUs);
      for (; n < due; n++) {
        const t = t0 + n * stepUs;
        this.emit('sample', { t_start_us: t, t_end_us: t + 500, power_w: 2.5 + Math.random() * 0.1 });
      }
    }, 1);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** A terminal-shaped sink for Ink: fixed size, counts the frames it is sent, keeps the last one. */
class FakeTerminal extends Writable {
  readonly columns = 120;
  readonly rows = 50;
  frames = 0;
  last = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.frames++;
    this.last = chunk.toString();
    callback();
  }
}

/** The console UI (src/tui), imported in main() after NODE_ENV is settled (as src/commands/run-console.ts does). */
let renderTui: typeof import('../src/tui/index.js').renderTui;

/** Renders the real console UI for a driver into `terminal`, starting from `seed` results. */
function renderUi(driver: Driver, dir: string, terminal: FakeTerminal, seed: InvocationLine[]): { close(): Promise<void> } {
  const initial = seed.length ? reduce(initialState(), { type: 'invocations', lines: seed }) : initialState();
  return renderTui(driver, dir, { showChart: true, stdout: terminal as unknown as NodeJS.WriteStream, interactive: false, initial });
}

const us = (x: number): string => `${Math.round(x)} µs`;

async function main(): Promise<void> {
  const N = numberArg('n', 2000);
  const ROUNDS = numberArg('rounds', 4);
  const WARMUP = 20;
  const pduInline = flagArg('pdu-inline');
  // The console runs React's production build (src/commands/run-console.ts); --react-dev shows the cost of the development build.
  const reactDev = flagArg('react-dev');
  if (!reactDev) process.env.NODE_ENV ??= 'production';
  ({ renderTui } = await import('../src/tui/index.js'));
  const SEED = numberArg('seed', 50_000);
  const only = stringArg('only', '');
  // (a) is every ratio's denominator: always run.
  const CONFIGS = ALL_CONFIGS.filter((c) => !only || c.id === 'a' || only.includes(c.id));
  const seedLines = Array.from({ length: SEED }, (_, i) =>
    line({ function: 'fibonacci-recursive', input: '1', seq: i, startup: 120 + (i % 50), total: 400 + (i % 200), iso: 0.01 }),
  );
  for (const c of CONFIGS) c.label = c.label.replace('SEED', `${SEED / 1000}k`);

  const root = fileURLToPath(new URL('..', import.meta.url));
  const wasm = await readFile(join(root, 'functions/fibonacci-recursive/fibonacci-recursive.wasm'));
  const tmp = await mkdtemp(join(tmpdir(), 'nebula-console-bench-'));
  const server = await startServer({ port: 0, storeDir: join(tmp, 'store'), docker: false });
  const client = new TargetClient(server.url);

  let pduSpec: string;
  let closePdu: () => Promise<void>;
  if (pduInline) {
    const pdu = await startSimulatedPdu({ port: 0 });
    pduSpec = pdu.spec;
    closePdu = () => pdu.close();
  } else {
    // Node 20 workers do not inherit tsx's loader hooks: register tsx first (as src/server/host/worker-pool.ts does).
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const worker = new Worker(bootstrap, { eval: true });
    pduSpec = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    closePdu = async () => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    };
  }
  const meters: Record<'modbus' | 'sim', Meter> = { modbus: await openMeter(pduSpec), sim: await openMeter('sim') };

  console.log(`nebula console bench — node ${process.version}, ${process.arch}, ${N} invocations (+${WARMUP} warm-up) per block, ${ROUNDS} rounds`);
  console.log(`fibonacci-recursive 1 on wasm, in-process server; simulated PDU ${pduInline ? 'on this event loop (--pdu-inline)' : 'in a worker thread'}; React ${process.env.NODE_ENV === 'production' ? 'production' : 'development'} build`);
  if (process.env.CI) console.log('warning: CI is set, so Ink writes only its last frame (frame rates below are meaningless)');

  try {
    await client.putArtifact('fibonacci-recursive', 'wasm', wasm);
    const suite = parseSuite(
      `name: console-bench\nruntimes: [wasm]\nrepetitions: ${N}\nwarmup: ${WARMUP}\nretries: 0\nfunctions:\n  - name: fibonacci-recursive\n    inputs: ["1"]\n`,
      null,
    );
    const { health } = await preflight(client, suite);
    const totals = new Map<ConfigId, Totals>(
      CONFIGS.map((c) => [c.id, { rttUs: [], blockP50: [], samples: 0, frames: 0, seconds: 0, cpuUs: 0, uiRates: [], lag: monitorEventLoopDelay({ resolution: 1 }) }]),
    );

    const runBlock = async (config: Config, round: number): Promise<void> => {
      const t = totals.get(config.id)!;
      let source: SampleSource | null = null;
      let description = '';
      if (config.meter === 'modbus' || config.meter === 'sim') {
        const meter = meters[config.meter];
        source = new Sampler(meter);
        description = meter.describe();
      } else if (config.meter === 'synthetic') {
        source = new SyntheticSource(1000);
        description = 'synthetic 1000 samples/s';
      }
      const meter: DriverMeter | null = source ? { spec: config.meter, description, source, attribution: meterAttribution } : null;
      const runDir = RunDirectory.create(join(tmp, 'runs'), `${config.id}-${round}`);
      const driver = new Driver({ suite, client, runId: `${config.id}-${round}`, health, nowUs, meter });
      const recorder = recordRun(driver, runDir, null);
      const terminal = new FakeTerminal();
      const screen = config.ui ? renderUi(driver, runDir.dir, terminal, config.seeded ? seedLines : []) : null;

      // The measured window: from the first measured invocation's send to the last reply.
      let measuring = false;
      let windowStart = 0;
      let framesAtStart = 0;
      let cpuAtStart = process.cpuUsage();
      const sampleStarts: number[] = [];
      const lines: InvocationLine[] = [];
      driver.on('phase', (p) => {
        if (p.phase === 'measure') {
          measuring = true;
          windowStart = nowUs();
          framesAtStart = terminal.frames;
          cpuAtStart = process.cpuUsage();
          t.lag.enable();
        }
      });
      driver.on('sample', (s) => sampleStarts.push(s.t_start_us));
      driver.on('invocation', (line) => {
        if (!line.warmup) lines.push(line);
      });
      let windowEnd = 0;
      let framesAtEnd = 0;
      let uiRate: number | null = null;
      driver.on('progress', (p) => {
        if (measuring && p.done === p.total) {
          windowEnd = nowUs();
          t.lag.disable();
          const cpu = process.cpuUsage(cpuAtStart);
          t.cpuUs += cpu.user + cpu.system;
          framesAtEnd = terminal.frames;
          const shown = /(\d+) samples\/s/.exec(terminal.last);
          uiRate = shown ? Number(shown[1]) : null;
          measuring = false;
        }
      });
      const done = await driver.run();
      recorder.finish(done);
      await screen?.close();
      if (done.status !== 'completed' || done.failed > 0) throw new Error(`block ${config.id}/${round} ended ${done.status} (${done.failed} failed): ${done.error ?? ''}`);

      const rtt = lines.map((l) => l.client.replied_us - l.client.sent_us);
      const seconds = (windowEnd - windowStart) / 1e6;
      t.rttUs.push(...rtt);
      t.blockP50.push(median(rtt));
      t.seconds += seconds;
      t.samples += sampleStarts.filter((s) => s >= windowStart && s <= windowEnd).length;
      t.frames += framesAtEnd - framesAtStart;
      if (uiRate !== null) t.uiRates.push(uiRate);
    };

    // One unrecorded block of each to warm the JIT, the pools and Ink.
    for (const config of CONFIGS) {
      await runBlock(config, -1);
      const t = totals.get(config.id)!;
      Object.assign(t, { rttUs: [], blockP50: [], samples: 0, frames: 0, seconds: 0, cpuUs: 0, uiRates: [] });
      t.lag.reset();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < CONFIGS.length; k++) await runBlock(CONFIGS[(k + round) % CONFIGS.length]!, round);
    }

    const a = totals.get('a')!;
    const aP50 = median(a.rttUs);
    console.log('');
    console.log(
      `${'configuration'.padEnd(38)}${'rtt p50'.padStart(9)}${'rtt p90'.padStart(9)}${'÷ (a)'.padStart(7)}${'per-round ÷ (a)'.padStart(21)}${'samples/s'.padStart(11)}${'UI shows'.padStart(10)}${'frames/s'.padStart(10)}${'loop p99'.padStart(10)}${'CPU'.padStart(7)}`,
    );
    for (const config of CONFIGS) {
      const t = totals.get(config.id)!;
      const p50 = median(t.rttUs);
      const perRound = t.blockP50.map((x, i) => x / a.blockP50[i]!);
      const hasMeter = config.meter !== 'none';
      console.log(
        [
          `(${config.id}) ${config.label}`.padEnd(38),
          us(p50).padStart(9),
          us(quantile(t.rttUs, 0.9)).padStart(9),
          (p50 / aP50).toFixed(2).padStart(7),
          (config.id === 'a' ? '—' : `${median(perRound).toFixed(2)} [${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}]`).padStart(21),
          (hasMeter ? (t.samples / t.seconds).toFixed(0) : '—').padStart(11),
          (config.ui && t.uiRates.length ? `${median(t.uiRates).toFixed(0)}/s` : '—').padStart(10),
          (config.ui ? (t.frames / t.seconds).toFixed(1) : '—').padStart(10),
          `${(t.lag.percentile(99) / 1e6).toFixed(1)} ms`.padStart(10),
          `${Math.round((t.cpuUs / 1e6 / t.seconds) * 100)}%`.padStart(7),
        ].join(''),
      );
    }
    console.log('');
    console.log('rtt: driver-measured HTTP round trip (client.sent_us → replied_us), measured invocations pooled over rounds;');
    console.log('÷ (a): pooled p50 over (a)\'s; per-round: median [min–max] of the same-round block ratios. Goal ≤ 1.2.');
    console.log('samples/s: samples the driver recorded in the measured window (goal ≥ 500). UI shows: the screen\'s own');
    console.log('samples/s readout in the last frame. frames/s: frames Ink wrote. loop p99: event-loop delay.');
    console.log('CPU: this process (server + console' + (pduInline ? ' + PDU' : '') + '), % of one core.');
  } finally {
    await meters.modbus.close();
    await meters.sim.close();
    await closePdu();
    await client.close();
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (!isMainThread) {
  // Worker role: the simulated PDU, a separate "device" with its own event loop.
  const pdu = await startSimulatedPdu({ port: 0 });
  parentPort!.postMessage(pdu.spec);
  parentPort!.once('message', () => void pdu.close().then(() => process.exit(0)));
} else {
  await main();
}
