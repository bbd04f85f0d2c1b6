/**
 * The HTTP API of `nebula serve` (DESIGN.md, "HTTP API"; docs/api.md). `received_us` is taken first
 * thing in the handler. Every failure becomes `{"error":{"code","message"}}`; nothing a client sends
 * can take the server down.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RUNTIMES, type FunctionResult, type Health, type Runtime } from '../protocol/api.js';
import { VERSION } from '../version.js';
import { checkElfHeader, ELF_HEADER_BYTES, validateElf } from './artifacts.js';
import { readBody, readFields, type BodyLimit, type HeadCheck } from './body.js';
import type { Clock } from './clock-source.js';
import { HttpError, notFound } from './http-error.js';
import type { Admission } from './admission.js';
import type { Limiter } from './limiter.js';
import { renderAdmission, type MetricsRegistry } from './metrics.js';
import { toInvocationResult } from './result.js';
import { checkWasmHeader } from './wasm-module.js';
import type { DockerRuntime } from './runtimes/docker.js';
import type { FunctionRuntime } from './runtimes/types.js';
import { checkName, sha256, type FunctionStore } from './store.js';
import type { WasmPool } from './wasm-pool.js';

export interface AppContext {
  clock: Clock;
  store: FunctionStore;
  pool: WasmPool;
  runtimes: Record<'wasm' | 'native' | 'docker', FunctionRuntime>;
  /** Per runtime: who runs, who waits, who is refused (docs/reliability.md, "Admission"). */
  admission: Record<'wasm' | 'native' | 'docker', Admission>;
  docker: DockerRuntime | undefined;
  metrics: MetricsRegistry;
  token: string | undefined;
  maxInputBytes: number;
  maxArtifactBytes: number;
  /** Longest gap between two chunks of a request body (→ 408). */
  bodyIdleMs: number;
  /** Uploads received at once; more wait in its queue or get 503 (bounds memory: docs/reliability.md). */
  uploads: Limiter;
  arch: string;
  nativeSupported: boolean;
  warn: (message: string) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, body: string, type = JSON_TYPE): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value));
}

function sendError(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error.status === 401) res.setHeader('www-authenticate', 'Bearer');
  if (error.retryAfterS !== undefined) res.setHeader('retry-after', String(error.retryAfterS));
  // A body we stopped reading (413, 408, a refusal before it) is not drained: close the connection
  // instead, so its sender cannot keep it busy.
  if (!req.complete) res.setHeader('connection', 'close');
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad-name', `path segment "${segment.slice(0, 80)}" is not valid percent-encoding`);
  }
}

/**
 * Inputs are text handed to the function on stdin; the C harness reads them as a C string, so a NUL
 * would silently cut the input short (`12\0abc` ran as 12). Refused instead (docs/api.md).
 */
function checkInput(input: Uint8Array): void {
  const at = input.indexOf(0);
  if (at >= 0) throw new HttpError(400, 'bad-input', `the input contains a NUL byte at offset ${at}; inputs are text without NUL (docs/api.md)`);
}

function parseRuntime(raw: string | null): Runtime {
  const runtime = raw ?? 'wasm';
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new HttpError(400, 'bad-runtime', `runtime "${runtime.slice(0, 40)}" is unknown; use ?runtime=${RUNTIMES.join('|')}`);
  }
  return runtime as Runtime;
}

const BODY_METHODS = new Set(['POST', 'PUT']);

/** True when the request says it has a body (a length above 0, or chunked). */
function bodyDeclared(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** Creates the request handler bound to a server's parts. */
export function createHandler(ctx: AppContext): (req: IncomingMessage, res: ServerResponse) => void {
  const tokenBytes = ctx.token ? Buffer.from(`Bearer ${ctx.token}`) : undefined;
  const limit = (bytes: number, what: string, limitFlag: string): BodyLimit => ({ limit: bytes, what, limitFlag, idleMs: ctx.bodyIdleMs });
  const inputLimit = limit(ctx.maxInputBytes, 'the input', '--max-input-kb');
  // The thesis endpoint's body carries the input plus three short fields.
  const thesisLimit = limit(ctx.maxInputBytes + 4096, 'the request', '--max-input-kb');

  function requireToken(req: IncomingMessage): void {
    if (!tokenBytes) return;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== tokenBytes.length || !timingSafeEqual(given, tokenBytes)) {
      throw new HttpError(401, 'unauthorized', 'this endpoint needs Authorization: Bearer <token> (the token nebula serve was started with)');
    }
  }

  function health(): Health {
    const unavailable: Record<string, string> = { component: 'WASI 0.2 components are not supported yet (a later issue)' };
    if (!ctx.docker) unavailable.docker = 'docker is disabled in this server';
    else if (!ctx.docker.available) unavailable.docker = ctx.docker.reason ?? 'unavailable';
    if (!ctx.nativeSupported) unavailable.native = `native executables are not supported on ${ctx.arch}`;
    return {
      ok: true,
      version: VERSION,
      arch: ctx.arch,
      runtimes: { wasm: true, component: false, docker: ctx.docker?.available ?? false, native: ctx.nativeSupported },
      unavailable,
    };
  }

  async function invoke(receivedUs: number, name: string, runtime: Runtime, req: IncomingMessage) {
    checkName(name);
    try {
      const fn = ctx.store.require(name);
      if (runtime === 'component') {
        throw new HttpError(503, 'runtime-unavailable', 'the component runtime is not available yet (a later issue); use ?runtime=wasm');
      }
      // A full queue refuses before the body is read, so a refusal under overload costs no more
      // than the headers; a slot is taken only once the body is in (a slow body must not hold one).
      ctx.admission[runtime].refuseIfFull();
      const input = await readBody(req, inputLimit);
      checkInput(input);
      const release = await ctx.admission[runtime].acquire();
      let raw;
      try {
        raw = await ctx.runtimes[runtime].invoke(fn, input);
      } finally {
        release();
      }
      const { result, adjustment } = toInvocationResult(name, runtime, input.toString('utf8'), receivedUs, raw);
      ctx.metrics.recordResult(name, runtime, result.ok, result.metrics, adjustment);
      return result;
    } catch (error) {
      // Only deployed functions get series: unknown names must not grow /metrics without bound.
      if (ctx.store.get(name)) ctx.metrics.recordError(name, runtime, error instanceof HttpError ? error.code : 'internal');
      throw error;
    }
  }

  async function putArtifact(name: string, kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireToken(req);
    checkName(name);
    const release = await ctx.uploads.acquire();
    try {
      await storeArtifact(name, kind, req, res);
    } finally {
      release();
    }
  }

  /** The first-bytes check of an upload of `kind`, refusing garbage before the rest of it arrives. */
  function headCheck(kind: string): HeadCheck | undefined {
    if (kind === 'wasm') return { bytes: 8, check: checkWasmHeader };
    if (kind === 'native' && ctx.nativeSupported) return { bytes: ELF_HEADER_BYTES, check: (head) => checkElfHeader(head, ctx.arch) };
    return undefined;
  }

  async function storeArtifact(name: string, kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, limit(ctx.maxArtifactBytes, `the ${kind} artifact`, '--max-artifact-mb'), headCheck(kind));
    if (body.length === 0) throw new HttpError(400, 'empty-body', `PUT /functions/${name}/${kind} needs the artifact as the body`);
    if (kind === 'wasm') {
      const old = ctx.store.get(name)?.meta.wasm?.sha256;
      sendJson(res, 200, await ctx.store.putWasm(name, body));
      if (old && !ctx.store.all().some((f) => f.meta.wasm?.sha256 === old)) ctx.pool.forget(old);
      return;
    }
    if (kind === 'native') {
      if (!ctx.nativeSupported) throw new HttpError(503, 'runtime-unavailable', `native executables are not supported on ${ctx.arch}`);
      validateElf(body, ctx.arch);
      let image: string | undefined;
      if (ctx.docker && (ctx.docker.available || (await ctx.docker.check()))) {
        image = await ctx.docker.buildFromNative(name, body, sha256(body));
      }
      sendJson(res, 200, await ctx.store.putNative(name, body, ctx.arch, image));
      return;
    }
    if (kind === 'docker') {
      if (!ctx.docker) throw new HttpError(503, 'docker-unavailable', 'docker is disabled in this server');
      const hash = sha256(body);
      const image = await ctx.docker.loadArchive(name, body, hash);
      sendJson(res, 200, await ctx.store.putDockerImage(name, { image, source: 'archive', sha256: hash }));
      return;
    }
    throw notFound(`unknown artifact kind "${kind.slice(0, 40)}"; use PUT /functions/${name}/wasm|native|docker`);
  }

  async function thesisInvoke(receivedUs: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fields = await readFields(req, thesisLimit);
    const name = fields.get('function_name');
    if (!name) throw new HttpError(400, 'bad-body', 'field function_name is missing');
    const moduleType = (fields.get('module_type') ?? 'Wasm').toLowerCase();
    if (moduleType !== 'wasm' && moduleType !== 'docker') {
      throw new HttpError(400, 'bad-body', `field module_type "${moduleType.slice(0, 40)}" must be Wasm or Docker`);
    }
    const input = fields.get('input') ?? '';
    checkName(name);
    checkInput(Buffer.from(input));
    let result;
    try {
      const fn = ctx.store.require(name);
      const release = await ctx.admission[moduleType].acquire();
      let raw;
      try {
        raw = await ctx.runtimes[moduleType].invoke(fn, Buffer.from(input));
      } finally {
        release();
      }
      let adjustment;
      ({ result, adjustment } = toInvocationResult(name, moduleType, input, receivedUs, raw));
      ctx.metrics.recordResult(name, moduleType, result.ok, result.metrics, adjustment);
    } catch (error) {
      if (ctx.store.get(name)) ctx.metrics.recordError(name, moduleType, error instanceof HttpError ? error.code : 'internal');
      throw error;
    }
    const thesis: FunctionResult & { ok?: boolean; error?: string } = {
      func_name: name,
      func_type: moduleType === 'wasm' ? 'Wasm' : 'Docker',
      input,
      result: result.output,
      metrics: {
        startup_time: result.metrics.startup_us,
        total_runtime: result.metrics.total_us,
        start_since_epoch: result.metrics.received_us,
        end_since_epoch: result.metrics.ended_us,
      },
    };
    if (!result.ok) {
      thesis.ok = false;
      thesis.error = result.error ?? 'failed';
    }
    sendJson(res, 200, thesis);
  }

  async function route(receivedUs: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    // HEAD is GET without the body (node:http leaves the body out for HEAD requests).
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    if (!BODY_METHODS.has(method) && bodyDeclared(req)) {
      throw new HttpError(413, 'too-large', `${method} ${path.slice(0, 200)} takes no request body`);
    }
    const parts = path.split('/').slice(1);

    if (parts[0] === 'functions' && parts.length >= 2) {
      const name = decodeSegment(parts[1]!);
      if (parts.length === 3 && parts[2] === 'invoke') {
        if (method !== 'POST') throw new HttpError(405, 'method-not-allowed', 'use POST to invoke');
        const runtime = parseRuntime(new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)).get('runtime'));
        sendJson(res, 200, await invoke(receivedUs, name, runtime, req));
        return;
      }
      if (parts.length === 3 && method === 'PUT') return putArtifact(name, decodeSegment(parts[2]!), req, res);
      if (parts.length === 2 && method === 'DELETE') {
        requireToken(req);
        const fn = await ctx.store.delete(checkName(name));
        const sha = fn.meta.wasm?.sha256;
        if (sha && !ctx.store.all().some((f) => f.meta.wasm?.sha256 === sha)) ctx.pool.forget(sha);
        if (fn.meta.docker && ctx.docker?.available) ctx.docker.removeImage(fn.meta.docker.image);
        sendJson(res, 200, { deleted: name });
        return;
      }
      if (parts.length === 2 && method === 'GET') {
        const fn = ctx.store.require(name);
        sendJson(res, 200, ctx.store.list().find((f) => f.name === fn.name));
        return;
      }
      throw new HttpError(405, 'method-not-allowed', `${method} ${path} is not supported; see docs/api.md`);
    }
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /healthz':
        if (ctx.docker && !ctx.docker.available) void ctx.docker.check(); // the next /healthz reflects a started engine
        return sendJson(res, 200, health());
      case 'GET /time':
        return send(res, 200, `{"epoch_us":${ctx.clock.nowUs()}}`);
      case 'GET /functions':
        return sendJson(res, 200, ctx.store.list());
      case 'GET /metrics':
        return send(res, 200, ctx.metrics.render() + renderAdmission(ctx.admission), 'text/plain; version=0.0.4; charset=utf-8');
      case 'POST /invoke_function':
        return thesisInvoke(receivedUs, req, res);
      default:
        throw new HttpError(404, 'no-route', `no endpoint ${route}; see docs/api.md`);
    }
  }

  return (req, res) => {
    const receivedUs = ctx.clock.nowUs();
    route(receivedUs, req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(req, res, error);
      ctx.warn(`internal error on ${req.method} ${req.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      sendError(req, res, new HttpError(500, 'internal', error instanceof Error ? error.message : String(error)));
    });
  };
}
