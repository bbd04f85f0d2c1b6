/**
 * HTTP client for a `nebula serve` target, shared by deploy, invoke and the console. Keep-alive via
 * one undici Pool per target, so the console's invocations do not pay a TCP handshake each.
 */
import { Pool } from 'undici';
import type { z } from 'zod';
import { TargetError, describeError } from '../errors.js';
import {
  ErrorBodySchema,
  FunctionListSchema,
  HealthSchema,
  InvocationResultSchema,
  TimeSchema,
  type FunctionInfo,
  type Health,
  type InvocationResult,
  type Runtime,
} from '../protocol/api.js';

export type ArtifactKind = 'wasm' | 'native' | 'docker';

export interface TargetOptions {
  token?: string | undefined;
  /** Per-request timeout for headers and body, ms. */
  timeoutMs?: number;
}

/** Normalises a target URL given by a user; names the flag at fault when it is not one. */
export function parseTargetUrl(raw: string, flag = '--target'): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new TargetError(`${flag} "${raw}" is not a URL`, {
      code: 'bad-target',
      exitCode: 2,
      hint: 'Use http://HOST:PORT, e.g. http://127.0.0.1:3090',
    });
  }
  if (url.protocol !== 'http:') {
    throw new TargetError(`${flag} "${raw}": only http:// targets are supported`, { code: 'bad-target', exitCode: 2 });
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
    this.#pool = new Pool(this.url.origin, { connections: 8, pipelining: 1 });
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  health(): Promise<Health> {
    return this.#json('GET', '/healthz', HealthSchema);
  }

  /** The server's realtime clock in µs. */
  async timeUs(): Promise<number> {
    return (await this.#json('GET', '/time', TimeSchema)).epoch_us;
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

  /** Invokes a function; `signal` aborts the request (TargetError code "aborted"). */
  invoke(name: string, input: string, runtime: Runtime, signal?: AbortSignal): Promise<InvocationResult> {
    const path = `/functions/${encodeURIComponent(name)}/invoke?runtime=${runtime}`;
    return this.#json('POST', path, InvocationResultSchema, Buffer.from(input), signal);
  }

  async #json<T extends z.ZodType>(method: string, path: string, schema: T, body?: Buffer, signal?: AbortSignal): Promise<z.infer<T>> {
    const data = await this.#request(method, path, body, signal);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new TargetError(`${this.url.origin}${path} answered with an unexpected shape: ${parsed.error.message}`, {
        code: 'bad-response',
        exitCode: 1,
        hint: 'Is the target a nebula serve of the same version?',
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
        throw new TargetError(`${method} ${path} was aborted before the target answered`, { code: 'aborted', exitCode: 1, cause: error });
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
      throw new TargetError(`${this.url.origin}${path} answered ${response.statusCode} with non-JSON: ${text.slice(0, 200)}`, {
        code: 'bad-response',
        exitCode: 1,
        status: response.statusCode,
      });
    }
    if (response.statusCode >= 400) {
      const parsed = ErrorBodySchema.safeParse(data);
      const code = parsed.success ? parsed.data.error.code : `http-${response.statusCode}`;
      const message = parsed.success ? parsed.data.error.message : text.slice(0, 200);
      throw new TargetError(`${method} ${path} → ${response.statusCode} ${code}: ${message}`, {
        code,
        status: response.statusCode,
        exitCode: response.statusCode === 401 || response.statusCode === 400 ? 2 : 1,
        ...(response.statusCode === 401 ? { hint: 'Pass the server token with --token.' } : {}),
      });
    }
    return data;
  }
}
