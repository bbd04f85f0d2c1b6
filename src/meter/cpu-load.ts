/**
 * How busy this machine's CPUs are, from /proc/stat deltas (os.cpus() where /proc is missing). The
 * kernel counts in USER_HZ ticks (10 ms), so a delta over less than ~100 ms is mostly quantisation:
 * the load is recomputed only when `minIntervalMs` has passed and held in between.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';

interface CpuTimes { busy: number; total: number }

/** Parses the aggregate "cpu" line of /proc/stat into busy and total ticks (idle + iowait are not busy). */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice — already inside user/nice]
  const fields = values.slice(0, 8);
  const total = fields.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

async function readTimes(): Promise<CpuTimes> {
  try {
    const parsed = parseProcStat(await readFile('/proc/stat', 'utf8'));
    if (parsed) return parsed;
  } catch {
    // No /proc (macOS, some sandboxes): fall through to os.cpus().
  }
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

/** Busy cores (0 … number of CPUs), refreshed at most every `minIntervalMs`. */
export class CpuLoad {
  readonly cores = os.availableParallelism();
  #last: { times: CpuTimes; atMs: number } | undefined;
  #busyCores = 0;
  #pending: Promise<number> | undefined;

  constructor(private readonly minIntervalMs = 100) {}

  /** The latest busy-core figure without any I/O. */
  get current(): number {
    return this.#busyCores;
  }

  /** Refreshes the figure if it is stale and returns it. Concurrent callers share one read. */
  async busyCores(): Promise<number> {
    const now = performance.now();
    if (this.#last && now - this.#last.atMs < this.minIntervalMs) return this.#busyCores;
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #refresh(): Promise<number> {
    const times = await readTimes();
    const atMs = performance.now();
    if (this.#last) {
      const dTotal = times.total - this.#last.times.total;
      const dBusy = times.busy - this.#last.times.busy;
      if (dTotal > 0) this.#busyCores = Math.min(this.cores, Math.max(0, (dBusy / dTotal) * this.cores));
    }
    this.#last = { times, atMs };
    return this.#busyCores;
  }
}

/** The simulated machine: idle watts plus watts per fully busy core (docs/energy.md). */
export interface PowerModel {
  idleW: number;
  coreW: number;
}

/** P = idle + core × busy cores. */
export function modelPower(model: PowerModel, busyCores: number): number {
  return model.idleW + model.coreW * busyCores;
}
