/**
 * The run directory (docs/results.md): run.json rewritten atomically on every status change,
 * invocations.jsonl written line by line with a synchronous write each as each invocation completes
 * (so a crash, SIGKILL or Ctrl-C right after an invocation still has it on disk, whatever the meter
 * does), a load run's stages.jsonl as each stage ends, energy.jsonl likewise once the meter has covered a window, samples.jsonl batched (at ≥ 500 samples/s one write per
 * sample would cost more than the sampling) and flushed at least every `flushMs`.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EnergyLine, InvocationLine, RunJson, SampleLine, StageLine } from '../protocol/results.js';

/** `<suite>-<YYYYMMDD-HHMMSS>` in local time, the run directory's and run_id's name. */
export function runIdFor(suite: string, date: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${suite}-${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

export class RunDirectory {
  readonly dir: string;
  readonly #invocations: number;
  readonly #energy: number;
  readonly #samples: number;
  #pending: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Creates `dir` (it must not exist yet: a run never overwrites another's files). */
  constructor(dir: string, flushMs = 250) {
    this.dir = dir;
    mkdirSync(dir, { recursive: false });
    this.#invocations = openSync(join(dir, 'invocations.jsonl'), 'a');
    this.#energy = openSync(join(dir, 'energy.jsonl'), 'a');
    this.#samples = openSync(join(dir, 'samples.jsonl'), 'a');
    this.#timer = setInterval(() => this.flushSamples(), flushMs);
    this.#timer.unref();
  }

  /** Creates `<out>/<runId>`, adding -2, -3… when a run started in the same second. */
  static create(out: string, runId: string, flushMs?: number): RunDirectory {
    mkdirSync(out, { recursive: true });
    for (let i = 1; ; i++) {
      const dir = join(out, i === 1 ? runId : `${runId}-${i}`);
      try {
        return new RunDirectory(dir, flushMs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || i > 50) throw error;
      }
    }
  }

  /** Writes run.json atomically (temp file + rename): readers never see half a file. */
  writeRun(run: RunJson): void {
    this.#writeAtomic('run.json', `${JSON.stringify(run, null, 2)}\n`);
  }

  appendInvocation(line: InvocationLine): void {
    if (this.#closed) return;
    writeSync(this.#invocations, `${JSON.stringify(line)}\n`);
  }

  appendEnergy(line: EnergyLine): void {
    if (this.#closed) return;
    writeSync(this.#energy, `${JSON.stringify(line)}\n`);
  }

  /** A finished load stage (stages.jsonl exists only for load runs; a few lines, written as they come). */
  appendStage(line: StageLine): void {
    if (this.#closed) return;
    appendFileSync(join(this.dir, 'stages.jsonl'), `${JSON.stringify(line)}\n`);
  }

  appendSample(line: SampleLine): void {
    if (this.#closed) return;
    this.#pending.push(JSON.stringify(line));
  }

  flushSamples(): void {
    if (this.#pending.length === 0 || this.#closed) return;
    const text = `${this.#pending.join('\n')}\n`;
    this.#pending = [];
    writeSync(this.#samples, text);
  }

  /** Writes summary.json and summary.md. */
  writeSummary(json: unknown, markdown: string): void {
    this.#writeAtomic('summary.json', `${JSON.stringify(json, null, 2)}\n`);
    this.#writeAtomic('summary.md', markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  }

  /** Flushes and closes the line files. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.flushSamples();
    this.#closed = true;
    clearInterval(this.#timer);
    closeSync(this.#invocations);
    closeSync(this.#energy);
    closeSync(this.#samples);
  }

  #writeAtomic(name: string, text: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, name));
  }
}
