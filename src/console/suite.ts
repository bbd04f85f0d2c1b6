/**
 * Loads and validates a YAML suite before anything runs. Errors name the file, the
 * line and column, and the field: `suites/x.yaml:7:12: functions[0].inputs.step: must be > 0`.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { SuiteError, describeError } from '../errors.js';
import type { Runtime, StartMode } from '../protocol/api.js';
import { stagesOf } from './load/stages.js';
import { MAX_INPUTS, MAX_INVOCATIONS, SuiteSchema, type SuiteInput, type Threshold } from './suite-schema.js';

export interface SuiteFunction {
  name: string;
  /** Inputs expanded from a range or a list, as the text sent to the function. */
  inputs: string[];
  runtimes: Runtime[];
  /** Start modes, each run for every input × runtime × repetition (default [cold]). */
  modes: StartMode[];
}

/** A validated suite, ready for the driver. */
export interface Suite extends Omit<SuiteInput, 'functions' | 'thresholds'> {
  functions: SuiteFunction[];
  thresholds: Threshold[];
  /** The file it came from (null when parsed from a string). */
  file: string | null;
}

/** Reads and validates a suite file. Throws SuiteError (exit 2). */
export async function loadSuite(file: string): Promise<Suite> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SuiteError(`cannot read suite ${file}: ${describeError(error)}`, {
      hint: 'Pass a suite file, e.g. `nebula console suites/quick.yaml`.',
    });
  }
  return parseSuite(text, file);
}

/** Parses and validates suite text; `file` is used in messages. */
export function parseSuite(text: string, file: string | null): Suite {
  const where = file ?? '<suite>';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const loc = pos ? `${where}:${pos.line}:${pos.col}` : where;
    // The YAML composer recurses per level: thousands of levels overflow its stack.
    if (first.message.includes('Maximum call stack size exceeded')) throw tooDeep(loc);
    throw new SuiteError(`${loc}: invalid YAML: ${(first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`, { hint: 'Fix the YAML syntax at that line.' });
  }
  const deep = firstTooDeep(doc);
  if (deep) throw tooDeep(locate(deep, lineCounter, where));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml's guard against "billion laughs": aliases that expand to more than maxAliasCount nodes.
    if (!(error instanceof ReferenceError)) throw error;
    throw new SuiteError(`${locate(firstAlias(doc), lineCounter, where)}: YAML aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias): ${error.message}`, {
      hint: 'Write the values out, or use fewer nested aliases (*name).',
    });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SuiteError(`${where}:1:1: a suite is a mapping with name, runtimes and functions`, {
      hint: 'See docs/suites.md for the format.',
    });
  }
  const parsed = SuiteSchema.safeParse(data);
  if (!parsed.success) {
    const messages = parsed.error.issues
      .flatMap((issue) => describeIssue(issue, doc, lineCounter, where).split('\n  '))
      .sort((a, b) => lineOf(a) - lineOf(b));
    const [head, ...rest] = messages;
    throw new SuiteError(rest.length ? `${head}\n${rest.map((m) => `  ${m}`).join('\n')}` : (head ?? `${where}: invalid suite`), {
      hint: 'See docs/suites.md for every key and its allowed values.',
    });
  }
  const suite = parsed.data;
  /** `mode` or `modes` of the suite or a function, as a list without repeats; both given is an error. */
  const modesOf = (given: { mode?: StartMode | undefined; modes?: StartMode[] | undefined }, path: Array<string | number>): StartMode[] | undefined => {
    if (given.mode !== undefined && given.modes !== undefined) {
      throw new SuiteError(`${locate(nodeAt(doc, [...path, 'modes']), lineCounter, where)}: ${path.length ? `functions[${path[1]}]: ` : ''}give \`mode\` or \`modes\`, not both`, {
        hint: 'mode: prewarmed runs one start mode; modes: [cold, prewarmed] compares both (docs/suites.md).',
      });
    }
    const modes = given.modes ?? (given.mode === undefined ? undefined : [given.mode]);
    return modes ? [...new Set(modes)] : undefined;
  };
  const suiteModes = modesOf(suite, []) ?? ['cold'];
  const functions = suite.functions.map((fn, index): SuiteFunction => {
    const inputs = expandInputs(fn.inputs);
    if (inputs.length === 0 || inputs.length > MAX_INPUTS) {
      const node = nodeAt(doc, ['functions', index, 'inputs']);
      throw new SuiteError(
        `${locate(node, lineCounter, where)}: functions[${index}].inputs: ${
          inputs.length === 0 ? 'the range is empty (`from` is above `to`)' : `${inputs.length} inputs is more than the ${MAX_INPUTS} allowed`
        }`,
        { hint: 'Check from, to and step.' },
      );
    }
    return { name: fn.name, inputs, runtimes: fn.runtimes ?? suite.runtimes, modes: modesOf(fn, ['functions', index]) ?? suiteModes };
  });
  if (suite.load !== 'sequential' && functions.some((f) => f.modes.includes('prewarmed'))) {
    throw new SuiteError(`${locate(nodeAt(doc, ['load']), lineCounter, where)}: load: start mode \`prewarmed\` applies to sequential runs only`, {
      hint: 'Drop `load:` to compare cold and prewarmed starts, or run the load with mode cold (docs/suites.md, "Start modes").',
    });
  }
  const total = countInvocations(functions, suite);
  const maxInvocations = suite.max_invocations ?? MAX_INVOCATIONS;
  if (total > maxInvocations) {
    const node = nodeAt(doc, ['repetitions']) ?? nodeAt(doc, ['functions']);
    throw new SuiteError(
      `${locate(node, lineCounter, where)}: the suite makes ${total.toLocaleString('en-US')} invocations, more than the limit of ${maxInvocations.toLocaleString('en-US')}`,
      { hint: 'Lower repetitions or the input ranges, or raise the bound with `max_invocations:` in the suite (the plan holds ~100 bytes per invocation in memory).' },
    );
  }
  // Under open-loop load the schedule, not the plan, says how many requests go out (and lines are kept).
  const runtimes = new Set(functions.flatMap((f) => f.runtimes)).size;
  const scheduled = stagesOf(suite.load).reduce((n, s) => n + (s.mode === 'open' ? Math.ceil(s.rate * s.seconds) : 0), 0) * runtimes;
  if (scheduled > maxInvocations) {
    throw new SuiteError(
      `${locate(nodeAt(doc, ['load']), lineCounter, where)}: load: the stages schedule about ${scheduled.toLocaleString('en-US')} requests, more than the limit of ${maxInvocations.toLocaleString('en-US')}`,
      { hint: 'Lower the rates or seconds, or raise the bound with `max_invocations:` in the suite (every request is a line kept in memory for the summary).' },
    );
  }
  const names = new Set<string>();
  functions.forEach((fn, index) => {
    if (names.has(fn.name)) {
      const node = nodeAt(doc, ['functions', index, 'name']);
      throw new SuiteError(`${locate(node, lineCounter, where)}: functions[${index}].name: "${fn.name}" is listed twice`, {
        hint: 'Merge the inputs into one entry.',
      });
    }
    names.add(fn.name);
  });
  return { ...suite, functions, file };
}

/** Levels of nesting a suite may use; the format itself needs 4 (functions[0].inputs.from). */
export const MAX_NESTING = 32;
/** yaml's own default for toJS: enough for any hand-written suite's anchors. */
const MAX_ALIAS_COUNT = 100;

function tooDeep(loc: string): SuiteError {
  return new SuiteError(`${loc}: the YAML nests deeper than ${MAX_NESTING} levels`, {
    hint: 'A suite needs a handful of levels (functions[0].inputs.from): see docs/suites.md.',
  });
}

/** The first collection nested deeper than MAX_NESTING, found without recursion. */
function firstTooDeep(doc: Document): Node | undefined {
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth > MAX_NESTING) return node;
    for (const item of node.items) {
      if (isPair(item)) stack.push([item.key, depth + 1], [item.value, depth + 1]);
      else stack.push([item, depth + 1]);
    }
  }
  return undefined;
}

/** The first alias in the document (to point at when aliases expand too far). */
function firstAlias(doc: Document): Node | undefined {
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (isAlias(node)) return node;
    if (isCollection(node)) for (const item of [...node.items].reverse()) stack.push(...(isPair(item) ? [item.value, item.key] : [item]));
  }
  return undefined;
}

/** Invocations a suite makes: per function, inputs × runtimes × modes × repetitions, plus its warm-ups. */
export function countInvocations(functions: SuiteFunction[], suite: Pick<SuiteInput, 'repetitions' | 'warmup'>): number {
  return functions.reduce((sum, fn) => sum + fn.runtimes.length * fn.modes.length * (fn.inputs.length * suite.repetitions + suite.warmup), 0);
}

/** Expands `{from, to, step}` (inclusive) or a list into input strings. */
export function expandInputs(inputs: SuiteInput['functions'][number]['inputs']): string[] {
  if (Array.isArray(inputs)) return inputs.map(String);
  const step = inputs.step ?? 1;
  const count = inputs.to < inputs.from ? 0 : Math.floor((inputs.to - inputs.from) / step) + 1;
  if (count > MAX_INPUTS) return new Array<string>(count > MAX_INPUTS + 1 ? MAX_INPUTS + 1 : count).fill('');
  return Array.from({ length: count }, (_, i) => String(inputs.from + i * step));
}

type Issue = z.core.$ZodIssue;

/** The line number in a `file:line:col: …` message, for ordering messages as they appear in the file. */
function lineOf(message: string): number {
  return Number(/:(\d+):\d+: /.exec(message)?.[1] ?? 0);
}

function describeIssue(issue: Issue, doc: Document, lineCounter: LineCounter, where: string): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const keyNode = keyNodeAt(doc, path, key);
        const field = formatPath([...path, key]);
        return `${locate(keyNode, lineCounter, where)}: ${field}: unknown key${suggest(key, path)}`;
      })
      .join('\n  ');
  }
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest: its issues are about the shape the user meant. A branch that
    // failed only because the value is of another type (a mapping given where a word is allowed) is
    // about a shape the user did not mean, so it is set aside when another branch remains.
    const wrongType = (issues: Issue[]): boolean => issues.length === 1 && issues[0]!.path.length === 0 && (issues[0]!.code === 'invalid_type' || issues[0]!.code === 'invalid_value');
    const meant = issue.errors.filter((b) => !wrongType(b));
    if (meant.length === 1 && meant[0]![0]) {
      const inner = meant[0]![0];
      return describeIssue({ ...inner, path: [...issue.path, ...inner.path] } as Issue, doc, lineCounter, where);
    }
    const branches = issue.errors;
    const depth = (issues: Issue[]): number => Math.max(...issues.map((i) => i.path.length));
    const best = [...branches].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
    const inner = best?.[0];
    if (inner && depth(best) > 0) {
      return describeIssue({ ...inner, path: [...issue.path, ...inner.path] } as Issue, doc, lineCounter, where);
    }
  }
  const node = nodeAt(doc, path);
  const field = path.length ? formatPath(path) : '(top level)';
  return `${locate(node ?? deepestNodeAt(doc, path), lineCounter, where)}: ${field}: ${messageOf(issue, node === undefined, path)}`;
}

function messageOf(issue: Issue, missing: boolean, path: readonly (string | number)[]): string {
  switch (issue.code) {
    case 'invalid_type':
      if (missing) return `is required (expected ${issue.expected})`;
      return `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      return `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}`;
    case 'invalid_format':
      return issue.format === 'regex' ? `${issue.message} (pattern ${issue.pattern ?? ''})` : issue.message;
    case 'invalid_union':
      return path[path.length - 1] === 'load'
        ? 'expected `sequential` or a mapping with `concurrency`, `rate` or `stages` (see docs/suites.md, "Load")'
        : 'expected {from, to, step?} or a list';
    default:
      return issue.message;
  }
}

const KNOWN_KEYS: Record<string, string[]> = {
  '': ['name', 'description', 'target', 'runtimes', 'repetitions', 'warmup', 'order', 'mode', 'modes', 'baseline', 'meter', 'meter_interval_ms', 'timeout_ms', 'retries', 'max_invocations', 'settle', 'thresholds', 'load', 'functions'],
  functions: ['name', 'inputs', 'runtimes', 'mode', 'modes'],
  inputs: ['from', 'to', 'step'],
  baseline: ['seconds', 'after'],
  load: ['concurrency', 'rate', 'stages', 'seconds', 'arrivals', 'max_in_flight', 'seed'],
  stages: ['rate', 'seconds'],
  thresholds: ['metric', 'ratio', 'function', 'runtime', 'of', 'over', 'stat', 'mode', 'below', 'above'],
};

/** "did you mean" for a typo one or two edits away from a key allowed at that place. */
function suggest(key: string, path: (string | number)[]): string {
  const parent = [...path].reverse().find((p): p is string => typeof p === 'string') ?? '';
  const known = KNOWN_KEYS[parent] ?? [];
  const close = known.find((k) => editDistance(k, key) <= 2);
  return close ? ` (did you mean "${close}"?)` : ` (allowed: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The YAML node at a data path, or the deepest existing ancestor's node when it is missing. */
function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) return undefined;
    node = next;
  }
  return node as Node;
}

/** The deepest node along a path (for missing keys: the mapping that lacks them). */
function deepestNodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) break;
    node = next;
  }
  return node as Node | undefined;
}

function childOf(node: unknown, segment: string | number): unknown {
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    return pair?.value ?? undefined;
  }
  if (isSeq(node) && typeof segment === 'number') return node.items[segment];
  return undefined;
}

function keyNodeAt(doc: Document, path: (string | number)[], key: string): Node | undefined {
  const parent = nodeAt(doc, path);
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return parent;
}

function locate(node: Node | undefined, lineCounter: LineCounter, where: string): string {
  const offset = node?.range?.[0];
  if (offset === undefined) return `${where}:1:1`;
  const { line, col } = lineCounter.linePos(offset);
  return `${where}:${line}:${col}`;
}

/**
 * The suite without `runtime` (the demo on a machine without Docker): the runtime leaves every
 * function, and every threshold that names it goes too — a threshold about a runtime that does not
 * run can only miss. Returns the thresholds dropped so the caller can say so.
 */
export function withoutRuntime(suite: Suite, runtime: Runtime): { suite: Suite; dropped: Threshold[] } {
  const names = (t: Threshold): boolean => t.runtime === runtime || t.of === runtime || t.over === runtime;
  return {
    suite: {
      ...suite,
      runtimes: suite.runtimes.filter((r) => r !== runtime),
      functions: suite.functions.map((f) => ({ ...f, runtimes: f.runtimes.filter((r) => r !== runtime) })),
      thresholds: suite.thresholds.filter((t) => !names(t)),
    },
    dropped: suite.thresholds.filter(names),
  };
}
