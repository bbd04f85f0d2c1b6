/**
 * HTTP client for a `nebula serve` target, shared by deploy, invoke and the console. Keep-alive via
 * one undici Pool per target, so the console's invocations do not pay a TCP handshake each.
 */
import { Pool } from 'undici';
import type { z } from 'zod';
import { ExitCode, TargetError, describeError } from '../errors.js';
import {
  ErrorBodySchema,
  FunctionListSchema,
  HealthSchema,
  InvocationResultSchema,
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

  constructor(url: string | URL, options: TargetOptions = {}) {
    this.url = typeof url === 'string' ? parseTargetUrl(url) : url;
    this.#pool = new Pool(this.url.origin, { connections: options.connections ?? 8, pipelining: 1 });
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  async close(): Promise<void> {
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
    const path = `/functions/${encodeURIComponent(name)}/invoke?runtime=${runtime}${mode === 'cold' ? '' : `&mode=${mode}`}`;
    return this.#json('POST', path, InvocationResultSchema, Buffer.from(input), signal);
  }

  /** Has the runtime prepare an instance of the function ahead of `prewarmed` calls; true when one is ready. */
  async prepare(name: string, runtime: Runtime, signal?: AbortSignal): Promise<boolean> {
    const path = `/functions/${encodeURIComponent(name)}/prepare?runtime=${runtime}`;
    return (await this.#json('POST', path, PreparedSchema, undefined, signal)).prepared;
  }

  async #json<T extends z.ZodType>(method: string, path: string, schema: T, body?: Buffer, signal?: AbortSignal): Promise<z.infer<T>> {
    const data = await this.#request(method, path, body, signal);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new TargetError(`${this.url.origin}${path} answered with an unexpected shape: ${parsed.error.message}`, {
        code: 'bad-response',
        exitCode: ExitCode.Unreachable,
        hint: 'Is the target a nebula serve of the same version? Compare `nebula --version` with its /healthz.',
      });
    }
    return parsed.data;
  }

  async #request(method: string, path: string, body?: Buffer, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body) headers['content-type'] = 'application/octet-stream';
    let response;
    let text: string;
    try {
      response = await this.#pool.request({
        method: method as 'GET',
        path,
        headers,
        body: body ?? null,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        ...(signal ? { signal } : {}),
      });
      text = await response.body.text();
    } catch (error) {
      if (signal?.aborted) {
        throw new TargetError(`${method} ${path} was aborted before the target answered`, { code: 'aborted', exitCode: ExitCode.Interrupted, cause: error });
      }
      throw new TargetError(`cannot reach ${this.url.origin}: ${describeError(error)}`, {
        code: 'unreachable',
        hint: `Is \`nebula serve\` running there? Start it with \`nebula serve --port ${this.url.port || 80}\` or pass --target.`,
        cause: error,
      });
    }
    let data: unknown;
    try {
      data = text.length ? JSON.parse(text) : null;
    } catch {
      throw notNebula(this.url, `${method} ${path} answered ${response.statusCode} with ${describeBody(response.headers['content-type'], text)}`);
    }
    if (response.statusCode >= 400) {
      const parsed = ErrorBodySchema.safeParse(data);
      // Every error nebula serve sends has this shape: anything else comes from some other server.
      if (!parsed.success) throw notNebula(this.url, `${method} ${path} answered ${response.statusCode} with ${describeBody(response.headers['content-type'], text)}`);
      const { code, message } = parsed.data.error;
      throw new TargetError(`${method} ${path} → ${response.statusCode} ${code}: ${message}`, {
        code,
        status: response.statusCode,
        exitCode: exitCodeFor(response.statusCode, code),
        ...(response.statusCode === 401 ? { hint: 'Pass the server token with --token or NEBULA_TOKEN.' } : {}),
      });
    }
    return data;
  }
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
