/**
 * HTTP client for a `nebula serve` target, shared by deploy, invoke and the console. Keep-alive via
 * one undici Pool per target, so the console's invocations do not pay a TCP handshake each.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { ExitCode, TargetError, describeError } from '../errors.js';
import {
  ErrorBodySchema,
  FunctionListSchema,
  HealthSchema,
  PreparedSchema,
  SettledSchema,
  TimeSchema,
  type ArtifactKind,
  type FunctionInfo,
  type Health,
  type InvocationResult,
  type Runtime,
  type Settled,
  type StartMode,
} from '../protocol/api.js';
import { parseInvocationResult } from '../protocol/invocation-check.js';
import { InvokeConnections } from './invoke-connection.js';

export type { ArtifactKind };

export interface TargetOptions {
  token?: string | undefined;
  /** Per-request timeout for headers and body, ms. */
  timeoutMs?: number;
  /** Keep-alive connections to the target (default 8; a load run needs one per request in flight). */
  connections?: number;
}

/** Normalises a target URL given by a user; names the flag at fault when it is not one. */
export function parseTargetUrl(raw: string, flag = '--target'): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new TargetError(`${flag} "${raw}" is not a URL`, {
      code: 'bad-target',
      exitCode: ExitCode.Usage,
      hint: 'Use http://HOST:PORT, e.g. http://127.0.0.1:3090',
    });
  }
  if (url.protocol !== 'http:') {
    throw new TargetError(`${flag} "${raw}": only http:// targets are supported`, { code: 'bad-target', exitCode: ExitCode.Usage });
  }
  return url;
}

export class TargetClient {
  readonly url: URL;
  readonly #pool: Pool;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #bodyHeaders = { 'content-type': 'application/octet-stream' };
  readonly #connections: number;
  /** The load generator's invocations, on their own sockets (opened on first use). */
  #lean: InvokeConnections | null = null;

  constructor(url: string | URL, options: TargetOptions = {}) {
    this.url = typeof url === 'string' ? parseTargetUrl(url) : url;
    this.#pool = new Pool(this.url.origin, { connections: options.connections ?? 8, pipelining: 1 });
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#connections = options.connections ?? 8;
  }

  async close(): Promise<void> {
    this.#lean?.close();
    await this.#pool.close();
  }

  /** GET /healthz; anything but a nebula health answer is TargetError "not-nebula" (exit 3). */
  async health(): Promise<Health> {
    const data = await this.#request('GET', '/healthz');
    const parsed = HealthSchema.safeParse(data);
    if (!parsed.success) throw notNebula(this.url, `GET /healthz answered ${JSON.stringify(data)?.slice(0, 120) ?? 'nothing'}`);
    return parsed.data;
  }

  /** The server's realtime clock in µs. */
  async timeUs(): Promise<number> {
    return (await this.#json('GET', '/time', TimeSchema)).epoch_us;
  }

  /** GET /settled: waits up to `waitMs` on the server for no invocation or clean-up to be running. */
  settled(waitMs: number, signal?: AbortSignal): Promise<Settled> {
    return this.#json('GET', `/settled?wait_ms=${Math.max(0, Math.round(waitMs))}`, SettledSchema, undefined, signal);
  }

  listFunctions(): Promise<FunctionInfo[]> {
    return this.#json('GET', '/functions', FunctionListSchema);
  }

  async putArtifact(name: string, kind: ArtifactKind, body: Buffer): Promise<FunctionInfo> {
    const info = await this.#request('PUT', `/functions/${encodeURIComponent(name)}/${kind}`, body);
    return info as FunctionInfo;
  }

  async deleteFunction(name: string): Promise<void> {
    await this.#request('DELETE', `/functions/${encodeURIComponent(name)}`);
  }

  /**
   * Invokes a function; `signal` aborts the request (TargetError code "aborted"); `mode` `prewarmed`
   * runs it in an instance the runtime prepared ahead (docs/api.md, "Start modes").
   */
  invoke(name: string, input: string, runtime: Runtime, signal?: AbortSignal, mode: StartMode = 'cold'): Promise<InvocationResult> {
    const path = invokePath(name, runtime, mode);
    // Checked without zod when well formed: this is the load generator's hot path.
    return this.#request('POST', path, Buffer.from(input), signal).then((data) => this.#checked(path, parseInvocationResult(data)));
  }

  /**
   * `invoke` for the load generator's hot path: same answers and errors, sent by the minimal keep-alive
   * client of invoke-connection.ts instead of undici (docs/performance.md, "Load generator").
   */
  invokeUnderLoad(name: string, input: string, runtime: Runtime, signal?: AbortSignal, mode: StartMode = 'cold'): Promise<InvocationResult> {
    this.#lean ??= new InvokeConnections(this.url, { token: this.#token, timeoutMs: this.#timeoutMs, connections: this.#connections });
    return this.#lean.invoke(name, input, runtime, signal, mode);
  }

  /** Has the runtime prepare an instance of the function ahead of `prewarmed` calls; true when one is ready. */
  async prepare(name: string, runtime: Runtime, signal?: AbortSignal): Promise<boolean> {
    const path = `/functions/${encodeURIComponent(name)}/prepare?runtime=${runtime}`;
    return (await this.#json('POST', path, PreparedSchema, undefined, signal)).prepared;
  }

  async #json<T extends z.ZodType>(method: string, path: string, schema: T, body?: Buffer, signal?: AbortSignal): Promise<z.infer<T>> {
    return this.#checked(path, schema.safeParse(await this.#request(method, path, body, signal)));
  }

  #checked<T>(path: string, parsed: z.ZodSafeParseResult<T>): T {
    return checkedShape(this.url, path, parsed);
  }

  async #request(method: string, path: string, body?: Buffer, signal?: AbortSignal): Promise<unknown> {
    let answer: Answer;
    try {
      answer = await this.#send(method, path, body, signal);
    } catch (error) {
      throw sendFailure(this.url, method, path, error, signal);
    }
    return answerData(this.url, method, path, answer);
  }

  /**
   * One request through undici's `dispatch`: the answer's chunks are collected by callbacks, with no
   * response stream per request (docs/performance.md, "Load generator": a stream and its promise
   * turns were a large part of the load generator's cost per request).
   */
  #send(method: string, path: string, body: Buffer | undefined, signal: AbortSignal | undefined): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const handler = new Collector(resolve, reject);
      if (signal) {
        if (signal.aborted) return reject(signal.reason);
        watch(signal, handler);
      }
      this.#pool.dispatch(
        {
          method: method as Dispatcher.HttpMethod,
          path,
          headers: this.#token ? (body ? { ...this.#bodyHeaders, authorization: `Bearer ${this.#token}` } : { authorization: `Bearer ${this.#token}` }) : body ? this.#bodyHeaders : null,
          body: body ?? null,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        },
        handler,
      );
    });
  }
}

/** A response as `#request` needs it: status, content type and the body as text. */
export interface Answer {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** Collects one response's body for `#send`; settles its promise once (an abort may come first). */
class Collector implements Dispatcher.DispatchHandler, Abortable {
  #status = 0;
  #contentType: string | undefined;
  #chunks: Buffer[] = [];
  #controller: Dispatcher.DispatchController | null = null;
  #settled = false;
  /** The signal whose abort reached this request before undici started it. */
  #abortReason: unknown = undefined;
  #aborted = false;
  readonly #resolve: (answer: Answer) => void;
  readonly #reject: (error: unknown) => void;
  /** The signal's watch list this request is on, left when it settles. */
  watchers: Set<Abortable> | null = null;

  constructor(resolve: (answer: Answer) => void, reject: (error: unknown) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  abort(reason: unknown): void {
    this.#aborted = true;
    this.#abortReason = reason;
    if (this.#controller) this.#controller.abort(reason instanceof Error ? reason : new Error(String(reason)));
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#aborted) controller.abort(this.#abortReason instanceof Error ? this.#abortReason : new Error(String(this.#abortReason)));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode;
    const type = headers['content-type'];
    this.#contentType = Array.isArray(type) ? type[0] : type;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.watchers?.delete(this);
    const chunks = this.#chunks;
    const text = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.#resolve({ status: this.#status, contentType: this.#contentType, text });
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.watchers?.delete(this);
    this.#reject(error);
  }
}

/**
 * Requests in flight per abort signal, behind one listener per signal: the console passes the same
 * signal with every request of a run, and an `abort` listener added and removed per request cost
 * more than the set.
 */
const watched = new WeakMap<AbortSignal, Set<Abortable>>();

/** A request in flight that a signal can end; it leaves `watchers` when it settles. */
export interface Abortable {
  abort(reason: unknown): void;
  watchers: Set<Abortable> | null;
}

export function watch(signal: AbortSignal, handler: Abortable): void {
  let set = watched.get(signal);
  if (!set) {
    const requests = new Set<Abortable>();
    set = requests;
    watched.set(signal, requests);
    signal.addEventListener(
      'abort',
      () => {
        for (const r of requests) r.abort(signal.reason);
        requests.clear();
      },
      { once: true },
    );
  }
  set.add(handler);
  handler.watchers = set;
}

/** The checked value, or TargetError "bad-response" naming what is off in the answer at `path`. */
export function checkedShape<T>(url: URL, path: string, parsed: z.ZodSafeParseResult<T>): T {
  if (!parsed.success) {
    throw new TargetError(`${url.origin}${path} answered with an unexpected shape: ${parsed.error.message}`, {
      code: 'bad-response',
      exitCode: ExitCode.Unreachable,
      hint: 'Is the target a nebula serve of the same version? Compare `nebula --version` with its /healthz.',
    });
  }
  return parsed.data;
}

/**
 * What a request that got no answer becomes: "aborted" when its signal ended it, "unreachable" for
 * anything else (refused, reset, timed out). One mapping for both clients (this one and
 * invoke-connection.ts), so a load run's failed lines say the same whichever sent them.
 */
export function sendFailure(url: URL, method: string, path: string, error: unknown, signal: AbortSignal | undefined): TargetError {
  if (signal?.aborted) {
    return new TargetError(`${method} ${path} was aborted before the target answered`, { code: 'aborted', exitCode: ExitCode.Interrupted, cause: error });
  }
  return new TargetError(`cannot reach ${url.origin}: ${describeError(error)}`, {
    code: 'unreachable',
    hint: `Is \`nebula serve\` running there? Start it with \`nebula serve --port ${url.port || 80}\` or pass --target.`,
    cause: error,
  });
}

/**
 * The answer's JSON, or the TargetError it stands for: an error status with nebula's error body is
 * that error; anything not JSON, or an error status without that body, is "not-nebula".
 */
export function answerData(url: URL, method: string, path: string, answer: Answer): unknown {
  const { status, contentType, text } = answer;
  let data: unknown;
  try {
    data = text.length ? JSON.parse(text) : null;
  } catch {
    throw notNebula(url, `${method} ${path} answered ${status} with ${describeBody(contentType, text)}`);
  }
  if (status >= 400) {
    const parsed = ErrorBodySchema.safeParse(data);
    // Every error nebula serve sends has this shape: anything else comes from some other server.
    if (!parsed.success) throw notNebula(url, `${method} ${path} answered ${status} with ${describeBody(contentType, text)}`);
    const { code, message } = parsed.data.error;
    throw new TargetError(`${method} ${path} → ${status} ${code}: ${message}`, {
      code,
      status,
      exitCode: exitCodeFor(status, code),
      ...(status === 401 ? { hint: 'Pass the server token with --token or NEBULA_TOKEN.' } : {}),
    });
  }
  return data;
}

/** The path of an invocation (docs/api.md). */
export function invokePath(name: string, runtime: Runtime, mode: StartMode): string {
  return `/functions/${encodeURIComponent(name)}/invoke?runtime=${runtime}${mode === 'cold' ? '' : `&mode=${mode}`}`;
}

/** The exit code an error answer of nebula serve maps to (one meaning per code, see EXIT_CODES). */
function exitCodeFor(status: number, code: string): ExitCode {
  if (status === 400 || status === 401 || status === 413 || status === 422) return ExitCode.Usage;
  if (code === 'not-found') return ExitCode.NotDeployed;
  if (code === 'runtime-unavailable' || code === 'docker-unavailable') return ExitCode.RuntimeUnavailable;
  if (code === 'no-route') return ExitCode.Unreachable;
  return ExitCode.Failures;
}

/** The error for a target that answers HTTP but is not nebula serve (a web server, a router page). */
function notNebula(url: URL, what: string): TargetError {
  return new TargetError(`${url.origin} is not a nebula server: ${what}`, {
    code: 'not-nebula',
    exitCode: ExitCode.Unreachable,
    hint: 'Point --target (or NEBULA_TARGET) at a running `nebula serve` (default port 3090).',
  });
}

/** "text/html: <html><head>…" — enough of a foreign answer to recognise it. */
function describeBody(contentType: string | string[] | undefined, text: string): string {
  const type = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0] ?? 'no content type';
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 80);
  return snippet ? `${type}: ${snippet}` : `${type}, empty body`;
}
