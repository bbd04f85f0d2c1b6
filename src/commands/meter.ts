/** `nebula meter read|watch|simulate` (issue 4). */
import { ExitCode, UsageError } from '../errors.js';
import { numberFlag, untilInterrupted } from './flags.js';
import { openMeter } from '../meter/open-meter.js';
import { ModbusMeter } from '../meter/modbus-meter.js';
import { Sampler } from '../meter/sampler.js';
import { startSimulatedPdu } from '../meter/simulated-pdu.js';
import { PowerBins, renderWatch } from '../meter/watch-view.js';

/** One chart column of `meter watch` per this many ms: ~20 s on an 80-column terminal. */
const WATCH_BIN_MS = 250;



const UNITS = { power_w: 'W', device_power_w: 'W', voltage_v: 'V', current_a: 'A', pf: '1', energy_wh: 'Wh', frequency_hz: 'Hz', t_start_us: 'µs since epoch', t_end_us: 'µs since epoch' };

/** Prints one decoded sample as JSON. */
export async function meterReadCommand(spec: string): Promise<number | void> {
  const meter = await openMeter(spec);
  // "none" is a valid spec for suites (no energy), but there is nothing to read: bad usage, not an outage.
  if (meter.kind === 'none') {
    throw new UsageError(`meter spec "${spec}" reads nothing`, { hint: 'give a meter to read: modbus://HOST[:PORT], sim or rapl' });
  }
  try {
    const sample = await meter.read();
    const frequency = meter instanceof ModbusMeter ? meter.lastValues?.frequency_hz : undefined;
    const out = { meter: spec, description: meter.describe(), sample: { ...sample, ...(frequency === undefined ? {} : { frequency_hz: frequency }) }, read_us: sample.t_end_us - sample.t_start_us, units: UNITS };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return ExitCode.Ok;
  } finally {
    await meter.close();
  }
}

/** A live sparkline of power with the sample rate, redrawn in place until Ctrl-C. */
export async function meterWatchCommand(spec: string, opts: Record<string, unknown>): Promise<number | void> {
  const intervalMs = numberFlag(opts.intervalMs, '--interval-ms', { min: 0 });
  const meter = await openMeter(spec);
  const sampler = new Sampler(meter, intervalMs === undefined ? {} : { intervalMs });
  const bins = new PowerBins(WATCH_BIN_MS);
  let status: string | null = null;
  sampler.on('sample', (s) => {
    bins.add((s.t_start_us + s.t_end_us) / 2, s.power_w);
    status = null;
  });
  sampler.on('error', (e) => {
    status = `meter error: ${e.message} — retrying`;
  });
  sampler.on('gap', (g) => {
    status = `gap of ${((g.to_us - g.from_us) / 1000).toFixed(0)} ms (${g.reason})`;
  });
  const tty = process.stdout.isTTY === true;
  const draw = (): void => {
    const stats = sampler.stats();
    const frame = renderWatch(
      { description: meter.describe(), powers: bins.values(), binMs: WATCH_BIN_MS, watts: stats.last?.power_w ?? null, rateHz: stats.rate_hz, samples: stats.samples, gaps: stats.gaps, status },
      process.stdout.columns ?? 80,
      process.stdout.rows ?? 24,
    );
    // Home + clear-to-end redraws in place without the flicker of a full clear.
    process.stdout.write(tty ? `\x1b[H${frame.replace(/\n/g, '\x1b[K\n')}\x1b[J` : `${frame}\n`);
  };
  if (tty) process.stdout.write('\x1b[2J\x1b[?25l');
  sampler.start();
  const timer = setInterval(draw, tty ? 200 : 1000);
  try {
    await untilInterrupted();
  } finally {
    clearInterval(timer);
    await sampler.stop();
    await meter.close();
    if (tty) process.stdout.write('\x1b[?25h\n');
  }
  return ExitCode.Ok;
}

/** Serves a Gude-compatible PDU over Modbus TCP until Ctrl-C. */
export async function meterSimulateCommand(opts: Record<string, unknown>): Promise<number | void> {
  const host = typeof opts.host === 'string' ? opts.host : '127.0.0.1';
  const port = numberFlag(opts.port ?? '5020', '--port', { min: 0, max: 65535, integer: true })!;
  const idleW = numberFlag(opts.idleW ?? '2.5', '--idle-w', { min: 0 })!;
  const coreW = numberFlag(opts.coreW ?? '1.5', '--core-w', { min: 0 })!;
  let pdu;
  try {
    pdu = await startSimulatedPdu({ host, port, idleW, coreW });
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code === 'EADDRINUSE') throw new UsageError(`cannot serve on ${host}:${port}: the port is in use`, { hint: 'pick another --port (or --port 0 for any free one)' });
    if (code === 'EACCES') throw new UsageError(`cannot serve on ${host}:${port}: permission denied`, { hint: 'ports below 1024 need root; use --port 5020' });
    throw error;
  }
  process.stderr.write(`simulated Gude EPC 1105 on ${pdu.spec} (${idleW} W idle + ${coreW} W per busy core); meter spec: ${pdu.spec}\nCtrl-C to stop\n`);
  await untilInterrupted();
  await pdu.close();
  return ExitCode.Ok;
}

