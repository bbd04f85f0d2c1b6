/**
 * The run directory (docs/results.md): run.json rewritten atomically on every status change,
 * invocations.jsonl written with a synchronous write at the end of the event-loop turn in which
 * invocations completed — one write for all lines of that turn — so a line is on disk before the
 * console sends its next request in a sequential run, and within a turn under load (a crash,
 * SIGKILL or Ctrl-C after that still has it, whatever the meter does; a write per line cost half the
 * load generator's throughput, docs/performance.md), a load run's stages.jsonl as each stage ends, energy.jsonl likewise once the meter has covered a window, samples.jsonl batched (at ≥ 500 samples/s one write per
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

/** A turn's invocation lines are written at once up to this size (characters), then in batches of it. */
const MAX_BATCH_CHARS = 256 * 1024;

export class RunDirectory {
  readonly dir: string;
  readonly #invocations: number;
  readonly #energy: number;
  readonly #samples: number;
  #pending: string[] = [];
  /** Invocation lines of this event-loop turn, written by `flushInvocations` (setImmediate). */
  #lines: string[] = [];
  #linesBytes = 0;
  #linesScheduled = false;
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
    const text = `${JSON.stringify(line)}\n`;
    this.#lines.push(text);
    this.#linesBytes += text.length;
    if (this.#linesBytes >= MAX_BATCH_CHARS) this.flushInvocations();
    else if (!this.#linesScheduled) {
      this.#linesScheduled = true;
      setImmediate(() => this.flushInvocations());
    }
  }

  /** Writes the invocation lines not yet on disk (the end of the turn, a full batch, or close). */
  flushInvocations(): void {
    this.#linesScheduled = false;
    if (this.#lines.length === 0 || this.#closed) return;
    const text = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join('');
    this.#lines = [];
    this.#linesBytes = 0;
    writeSync(this.#invocations, text);
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
    this.flushInvocations();
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
