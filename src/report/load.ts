/**
 * Reads a run directory (docs/results.md) into typed values, tolerating crashed runs: whatever
 * is complete is kept, and everything missing, truncated or malformed becomes a warning naming the
 * file and line — never a silent skip.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { observeSeries, type MeterObserved } from '../meter/meter-observer.js';
import { joinEnergy } from './energy-join.js';
import { loadThesisFile, looksLikeThesis } from './thesis-import.js';
import {
  EnergyLineSchema,
  InvocationLineSchema,
  RunJsonSchema,
  SampleLineSchema,
  StageLineSchema,
  type Gap,
  type InvocationLine,
  type RunJson,
  type Sample,
  type StageLine,
} from '../protocol/results.js';

/** Something the report could not use, with where it is. */
export interface RunWarning {
  file: string;
  /** 1-based line number in a .jsonl file. */
  line?: number;
  message: string;
}

export interface LoadedRun {
  dir: string;
  /** How the run is named in reports: the target (arch @ host) or the directory name. */
  label: string;
  run: RunJson | null;
  invocations: InvocationLine[];
  samples: Sample[];
  gaps: Gap[];
  /** A load run's finished stages (stages.jsonl; empty for a sequential run). */
  stages: StageLine[];
  /** Whether summary.json exists (it is written at the end: its absence means the run did not finish). */
  finished: boolean;
  warnings: RunWarning[];
  /** What the samples showed about the meter (run.json's record, else computed from samples.jsonl). */
  observed: MeterObserved | null;
  /** Set for a thesis result file read as a run (src/report/thesis-import.ts). */
  thesis?: ThesisSource;
}

/** What an imported thesis file is, for labels and the report's header. */
export interface ThesisSource {
  file: string;
  records: number;
  /** Meter named for the file's energies (null: none of its records has energy). */
  meter: string | null;
  /** The thesis' constant idle power when its records have isolated energies. */
  baseline_w: number | null;
}

/** One line of a text file with its 1-based number; `terminated` is false for a last line without "\n". */
export interface TextLine {
  text: string;
  number: number;
  terminated: boolean;
}

/** Streams the lines of a file (files of a long run hold millions of samples: never read whole). */
export async function* readLines(file: string): AsyncGenerator<TextLine> {
  let rest = '';
  let number = 0;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) yield { text, number: ++number, terminated: true };
  }
  if (rest.length > 0) yield { text: rest, number: number + 1, terminated: false };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function zodMessage(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (!first) return 'invalid';
  const field = first.path.map(String).join('.');
  return field ? `field "${field}": ${first.message}` : first.message;
}

/** Parses a JSONL file with `parse`, turning bad lines into warnings that carry their line number. */
async function readJsonl<T>(
  file: string,
  name: string,
  parse: (value: unknown) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
  warnings: RunWarning[],
): Promise<T[]> {
  const out: T[] = [];
  for await (const { text, number, terminated } of readLines(file)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      warnings.push({
        file: name,
        line: number,
        message: terminated
          ? 'is not valid JSON; skipped'
          : 'is truncated (the run stopped while writing it); skipped',
      });
      continue;
    }
    const result = parse(value);
    if (result.success) out.push(result.data);
    else if (looksLikeThesis(value)) {
      warnings.push({ file: name, line: number, message: 'is a thesis FunctionResult record, not a Nebula line; skipped — pass the thesis result file (a JSON array) to nebula report as it is' });
    } else warnings.push({ file: name, line: number, message: `does not match the format (${zodMessage(result.error.issues)}); skipped` });
  }
  return out;
}

/** The label of a run: "arm64 @ raspberrypi.local:3090" from run.json, else the directory name. */
export function runLabel(dir: string, run: RunJson | null): string {
  if (!run) return path.basename(path.resolve(dir));
  let host = run.target.url;
  try {
    host = new URL(run.target.url).host;
  } catch {
    // keep the raw text: a label need not be a valid URL
  }
  const arch = run.target.health?.arch;
  return arch ? `${arch} @ ${host}` : host;
}

/**
 * Loads a run directory. Throws UsageError when `dir` is not a directory or holds neither run.json
 * nor invocations.jsonl; any other problem is a warning and the rest is still loaded.
 */
export async function loadRun(dir: string): Promise<LoadedRun> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new UsageError(`${dir}: no such directory`, { hint: 'pass a run directory written by `nebula console`, e.g. results/default-20240503-120000' });
  }
  if (!isDir) {
    // A .json that is not one of a run directory's own files may be a thesis result file.
    if (dir.endsWith('.json') && !['run.json', 'summary.json'].includes(path.basename(dir))) return loadThesisFile(dir);
    throw new UsageError(`${dir} is not a directory`, { hint: 'pass the run directory, not one of its files (or a thesis result file, *.json)' });
  }
  const runFile = path.join(dir, 'run.json');
  const invFile = path.join(dir, 'invocations.jsonl');
  const hasRun = await exists(runFile);
  const hasInv = await exists(invFile);
  if (!hasRun && !hasInv) {
    throw new UsageError(`${dir} is not a run directory: it has neither run.json nor invocations.jsonl`, {
      hint: 'pass a directory written by `nebula console` (results/<suite>-<stamp>)',
    });
  }
  const warnings: RunWarning[] = [];
  let run: RunJson | null = null;
  if (!hasRun) {
    warnings.push({ file: 'run.json', message: 'is missing: no target, meter or baseline information' });
  } else {
    try {
      const parsed = RunJsonSchema.safeParse(JSON.parse(await readFile(runFile, 'utf8')));
      if (parsed.success) run = parsed.data;
      else warnings.push({ file: 'run.json', message: `does not match the format (${zodMessage(parsed.error.issues)}); ignored` });
    } catch (error) {
      warnings.push({ file: 'run.json', message: `is not valid JSON (${(error as Error).message}); ignored` });
    }
  }
  if (run && run.status !== 'completed') {
    warnings.push({
      file: 'run.json',
      message:
        run.status === 'running'
          ? 'status is "running": the run did not finish (it crashed, or is still going)'
          : `status is "${run.status}"${run.error ? `: ${run.error}` : ''}`,
    });
  }
  let invocations = hasInv
    ? await readJsonl(invFile, 'invocations.jsonl', (v) => InvocationLineSchema.safeParse(v), warnings)
    : [];
  if (!hasInv) warnings.push({ file: 'invocations.jsonl', message: 'is missing: no invocation was recorded' });
  const energyFile = path.join(dir, 'energy.jsonl');
  if (await exists(energyFile)) {
    // Isolated energies against the baseline interpolated between the phases before and after.
    invocations = joinEnergy(invocations, await readJsonl(energyFile, 'energy.jsonl', (v) => EnergyLineSchema.safeParse(v), warnings), run?.baseline);
  }

  const samples: Sample[] = [];
  const gaps: Gap[] = [];
  const sampleFile = path.join(dir, 'samples.jsonl');
  if (await exists(sampleFile)) {
    for (const s of await readJsonl(sampleFile, 'samples.jsonl', (v) => SampleLineSchema.safeParse(v), warnings)) {
      if ('gap' in s) gaps.push(s);
      else samples.push(s);
    }
  } else if (run && run.meter.spec !== 'none') {
    warnings.push({ file: 'samples.jsonl', message: `is missing although the meter was "${run.meter.spec}"` });
  }
  for (const g of gaps) {
    warnings.push({
      file: 'samples.jsonl',
      message: `meter gap of ${((g.to_us - g.from_us) / 1e6).toFixed(1)} s (${g.reason}): energy in it is not attributed`,
    });
  }
  const stageFile = path.join(dir, 'stages.jsonl');
  const stages = (await exists(stageFile)) ? await readJsonl(stageFile, 'stages.jsonl', (v) => StageLineSchema.safeParse(v), warnings) : [];
  const finished = await exists(path.join(dir, 'summary.json'));
  if (!finished) warnings.push({ file: 'summary.json', message: 'is missing: the run did not finish; reporting what was recorded' });
  const observed = run?.meter.observed ?? (samples.length > 1 ? observeSeries(samples, gaps) : null);
  return { dir, label: runLabel(dir, run), run, invocations, samples, gaps, stages, finished, warnings, observed };
}

/** Loads several runs and makes their labels unique (two runs on one target get their directory names). */
export async function loadRuns(dirs: readonly string[]): Promise<LoadedRun[]> {
  const runs: LoadedRun[] = [];
  for (const dir of dirs) runs.push(await loadRun(dir));
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.label, (count.get(r.label) ?? 0) + 1);
  for (const r of runs) {
    if ((count.get(r.label) ?? 0) > 1) r.label = `${r.label} (${path.basename(path.resolve(r.dir))})`;
  }
  return runs;
}

/** "file:line: line N message" or "file message" for a warning (the command prefixes the run directory). */
export function formatWarning(w: RunWarning): string {
  return w.line !== undefined ? `${w.file}:${w.line}: line ${w.line} ${w.message}` : `${w.file} ${w.message}`;
}
