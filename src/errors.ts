/**
 * Typed errors. Library code throws these; only src/cli.ts prints them and sets the exit code.
 * Each exit code has exactly one meaning, listed in EXIT_CODES (printed by `nebula --help` and
 * copied into README.md, which a test keeps equal).
 */
export const ExitCode = {
  Ok: 0,
  Failures: 1,
  Usage: 2,
  Unreachable: 3,
  NotDeployed: 4,
  RuntimeUnavailable: 5,
  Bug: 70,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The meaning of every exit code, in order: the one table for `--help` and README.md. */
export const EXIT_CODES: readonly { code: ExitCode; meaning: string }[] = [
  { code: ExitCode.Ok, meaning: 'ok: the run completed and every threshold held' },
  { code: ExitCode.Failures, meaning: 'failures: failed invocations, a missed threshold, a compared regression' },
  { code: ExitCode.Usage, meaning: 'bad usage or configuration: a flag, suite, file or token is wrong' },
  { code: ExitCode.Unreachable, meaning: 'target or meter unreachable, or the target is not a nebula server' },
  { code: ExitCode.NotDeployed, meaning: 'not deployed: a function or artifact is missing on the target' },
  { code: ExitCode.RuntimeUnavailable, meaning: 'runtime unavailable on the target (e.g. docker without a Docker engine)' },
  { code: ExitCode.Bug, meaning: 'internal error: a bug or a local I/O failure (the message has the stack)' },
  { code: ExitCode.Interrupted, meaning: 'interrupted (Ctrl-C, SIGTERM, q): summary written, no threshold judged' },
];

/** EXIT_CODES as aligned text lines ("  130  interrupted …"). */
export function exitCodeTable(): string {
  return EXIT_CODES.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n');
}

export interface NebulaErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
  cause?: unknown;
}

/** Base of every error Nebula reports to a user: a stable code, an exit code and a hint. */
export class NebulaError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(code: string, message: string, exitCode: ExitCode, options: NebulaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Bad flags, bad files, bad suite: exit 2. */
export class UsageError extends NebulaError {
  constructor(message: string, options: NebulaErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'usage', message, ExitCode.Usage, options);
  }
}

/** A suite file that does not validate: exit 2, message names file, line and field. */
export class SuiteError extends NebulaError {
  constructor(message: string, options: NebulaErrorOptions = {}) {
    super('suite', message, ExitCode.Usage, options);
  }
}

/** The target server cannot be reached or answered with an error: exit 3 when unreachable. */
export class TargetError extends NebulaError {
  readonly status: number | undefined;
  constructor(
    message: string,
    options: NebulaErrorOptions & { code?: string; status?: number; exitCode?: ExitCode } = {},
  ) {
    super(options.code ?? 'target', message, options.exitCode ?? ExitCode.Unreachable, options);
    this.status = options.status;
  }
}

/** The power meter cannot be reached or gives nonsense: exit 3. */
export class MeterError extends NebulaError {
  constructor(message: string, options: NebulaErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'meter', message, ExitCode.Unreachable, options);
  }
}

/** A toolchain or build failure (nebula build): exit 2 with the Debian package to install. */
export class BuildError extends NebulaError {
  constructor(message: string, options: NebulaErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'build', message, ExitCode.Usage, options);
  }
}

/** The user stopped the command (Ctrl-C, SIGTERM) before it could finish: exit 130. */
export class InterruptedError extends NebulaError {
  constructor(message: string, options: NebulaErrorOptions = {}) {
    super('interrupted', message, ExitCode.Interrupted, options);
  }
}

/** Turns anything thrown (strings, foreign error objects) into a message without losing it. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
