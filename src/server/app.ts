/**
 * The HTTP API of `nebula serve` (docs/api.md). `received_us` is taken first
 * thing in the handler. Every failure becomes `{"error":{"code","message"}}`; nothing a client sends
 * can take the server down.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ARTIFACT_KINDS, RUNTIMES, START_MODES, type FunctionResult, type Health, type Runtime, type StartMode } from '../protocol/api.js';
import { VERSION } from '../version.js';
import { readBody, readFields, type BodyLimit } from './body.js';
import { receiveUpload } from './upload.js';
import type { Clock } from './host/clock.js';
import { RuntimeError, type RuntimeFailure } from './host/errors.js';
import type { Limiter } from './host/limiter.js';
import type { Limits } from './host/runtime.js';
import { HttpError, notFound } from './http-error.js';
import type { Admission } from './admission.js';
import { renderAdmission, type MetricsRegistry } from './metrics.js';
import { toInvocationResult } from './result.js';
import { InvocationTracker, MAX_SETTLE_WAIT_MS, waitSettled } from './settled.js';
import { runtimeForArtifact, runtimeList, type Registry } from './runtimes/index.js';
import { checkName, type FunctionStore } from './store.js';

export interface AppContext {
  clock: Clock;
  store: FunctionStore;
  runtimes: Registry;
  /** Per runtime: who runs, who waits, who is refused (docs/reliability.md, "Admission"). */
  admission: Record<Runtime, Admission>;
  limits: Limits;
  metrics: MetricsRegistry;
  token: string | undefined;
  maxInputBytes: number;
  maxArtifactBytes: number;
  /** Longest gap between two chunks of a request body (→ 408). */
  bodyIdleMs: number;
  /** Uploads received at once; more wait in its queue or get 503 (bounds memory: docs/reliability.md). */
  uploads: Limiter;
  arch: string;
  warn: (message: string) => void;
  /** Invocations from receipt to the end of their reply, for GET /settled. */
  invocations: InvocationTracker;
}

/** The status each runtime failure answers with (docs/api.md). */
const FAILURE_STATUS: Record<RuntimeFailure, number> = {
  'not-deployed': 404,
  unavailable: 503,
  busy: 503,
  'shutting-down': 503,
  timeout: 504,
  'invalid-artifact': 422,
  failed: 500,
  cancelled: 499,
};

/** A runtime's typed failure as the HTTP error the client sees; `busy` says when to retry. */
function toHttpError(error: RuntimeError): HttpError {
  return new HttpError(FAILURE_STATUS[error.kind], error.code, error.message, error.kind === 'busy' ? { retryAfterS: 1 } : {});
}

/** The thesis prototype's `module_type` values and the runtime each names. */
const THESIS_TYPES: Record<string, { runtime: Runtime; type: FunctionResult['func_type'] }> = {
  wasm: { runtime: 'wasm', type: 'Wasm' },
  docker: { runtime: 'docker', type: 'Docker' },
};

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

function parseMode(raw: string | null): StartMode {
  const mode = raw ?? 'cold';
  if (!(START_MODES as readonly string[]).includes(mode)) {
    throw new HttpError(400, 'bad-mode', `mode "${mode.slice(0, 40)}" is unknown; use ?mode=${START_MODES.join('|')} (docs/api.md)`);
  }
  return mode as StartMode;
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
    const runtimes = {} as Record<Runtime, boolean>;
    const unavailable: Record<string, string> = {};
    for (const runtime of runtimeList(ctx.runtimes)) {
      const h = runtime.health();
      runtimes[runtime.name] = h.available;
      if (!h.available) unavailable[runtime.name] = h.reason ?? 'unavailable';
    }
    return { ok: true, version: VERSION, arch: ctx.arch, runtimes, unavailable };
  }

  /**
   * Runs one invocation and counts it in /metrics. The call is cancelled (dropped from its runtime's
   * queue, or stopped while it runs) when the client goes away before the reply: a closed response
   * that has not finished means nobody will read the result.
   */
  async function run(receivedUs: number, name: string, runtime: Runtime, res: ServerResponse, input: () => Promise<Buffer>, mode: StartMode = 'cold') {
    // In progress until its reply is done or its connection is gone: GET /settled waits for it.
    res.once('close', ctx.invocations.begin());
    checkName(name);
    const gone = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) gone.abort();
    };
    res.once('close', onClose);
    try {
      const fn = ctx.store.require(name);
      // A full queue refuses before the body is read, so a refusal under overload costs no more
      // than the headers; a slot is taken only once the body is in (a slow body must not hold one).
      ctx.admission[runtime].refuseIfFull();
      const body = await input();
      checkInput(body);
      const release = await ctx.admission[runtime].acquire(gone.signal);
      let raw;
      try {
        raw = await ctx.runtimes[runtime].invoke({ fn, input: body, limits: ctx.limits, signal: gone.signal, mode });
      } finally {
        release();
      }
      const { result, adjustment } = toInvocationResult(name, runtime, body.toString('utf8'), receivedUs, raw, mode);
      ctx.metrics.recordResult(name, runtime, result.ok, result.metrics, adjustment);
      return result;
    } catch (error) {
      // Only deployed functions get series: unknown names must not grow /metrics without bound.
      const failure = error instanceof RuntimeError ? toHttpError(error) : error;
      if (ctx.store.get(name)) ctx.metrics.recordError(name, runtime, failure instanceof HttpError ? failure.code : 'internal');
      throw failure;
    } finally {
      res.off('close', onClose);
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

  async function storeArtifact(name: string, kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const runtime = runtimeForArtifact(ctx.runtimes, kind);
    if (!runtime) {
      throw notFound(`unknown artifact kind "${kind.slice(0, 40)}"; use PUT /functions/${name}/${ARTIFACT_KINDS.join('|')}`);
    }
    // Streamed to a file in the store's .tmp, never whole in memory; the runtime's first-bytes check
    // refuses garbage before the rest of a large upload arrives.
    const b = limit(ctx.maxArtifactBytes, `the ${kind} artifact`, '--max-artifact-mb');
    const upload = await receiveUpload(req, b, ctx.store.uploadPath(), runtime.uploadHead?.());
    try {
      if (upload.size === 0) throw new HttpError(400, 'empty-body', `PUT /functions/${name}/${kind} needs the artifact as the body`);
      sendJson(res, 200, await ctx.store.put(name, runtime, upload));
    } finally {
      // Stored: already moved into place (a no-op); refused or failed: removed.
      await upload.discard();
    }
  }

  /** GET /settled?wait_ms=N: waits up to N ms (default 0) for no invocation or clean-up to be running. */
  async function settled(query: string, res: ServerResponse): ReturnType<typeof waitSettled> {
    const raw = new URLSearchParams(query).get('wait_ms') ?? '0';
    const waitMs = Number(raw);
    if (!/^\d{1,9}$/.test(raw) || waitMs > MAX_SETTLE_WAIT_MS) {
      throw new HttpError(400, 'bad-wait', `wait_ms "${raw.slice(0, 40)}" must be a whole number of ms from 0 to ${MAX_SETTLE_WAIT_MS}`);
    }
    const left = new AbortController();
    res.once('close', () => left.abort());
    const state = (): { inFlight: number; background: number } => {
      let background = 0;
      for (const runtime of runtimeList(ctx.runtimes)) background += runtime.backgroundWork?.() ?? 0;
      return { inFlight: ctx.invocations.inFlight, background };
    };
    const answer = await waitSettled(state, waitMs, ctx.clock, left.signal);
    // Settled: wake the runtimes' sleeping threads now, so the call that follows does not pay for
    // their wake-up (docs/methodology.md, "Settling").
    if (answer.settled) await Promise.all(runtimeList(ctx.runtimes).map((r) => r.wake?.()));
    return answer;
  }

  async function thesisInvoke(receivedUs: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fields = await readFields(req, thesisLimit);
    const name = fields.get('function_name');
    if (!name) throw new HttpError(400, 'bad-body', 'field function_name is missing');
    const moduleType = (fields.get('module_type') ?? 'Wasm').toLowerCase();
    const thesisType = Object.hasOwn(THESIS_TYPES, moduleType) ? THESIS_TYPES[moduleType] : undefined;
    if (!thesisType) {
      throw new HttpError(400, 'bad-body', `field module_type "${moduleType.slice(0, 40)}" must be Wasm or Docker`);
    }
    const input = fields.get('input') ?? '';
    const result = await run(receivedUs, name, thesisType.runtime, res, () => Promise.resolve(Buffer.from(input)));
    const thesis: FunctionResult & { ok?: boolean; error?: string } = {
      func_name: name,
      func_type: thesisType.type,
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
        const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
        const runtime = parseRuntime(query.get('runtime'));
        const mode = parseMode(query.get('mode'));
        sendJson(res, 200, await run(receivedUs, name, runtime, res, () => readBody(req, inputLimit), mode));
        return;
      }
      if (parts.length === 3 && parts[2] === 'prepare' && method === 'POST') {
        const runtime = parseRuntime(new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)).get('runtime'));
        const fn = ctx.store.require(checkName(name));
        if (!fn.meta[runtime]) throw notFound(`function "${name}" has no ${runtime} artifact to prepare`);
        sendJson(res, 200, { function: name, runtime, prepared: await ctx.runtimes[runtime].prepare(fn) });
        return;
      }
      if (parts.length === 3 && method === 'PUT') return putArtifact(name, decodeSegment(parts[2]!), req, res);
      if (parts.length === 2 && method === 'DELETE') {
        requireToken(req);
        await ctx.store.delete(checkName(name));
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
        return sendJson(res, 200, health());
      case 'GET /time':
        return send(res, 200, `{"epoch_us":${ctx.clock.nowUs()}}`);
      case 'GET /functions':
        return sendJson(res, 200, ctx.store.list());
      case 'GET /settled':
        return sendJson(res, 200, await settled(q < 0 ? '' : rawUrl.slice(q + 1), res));
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
      if (error instanceof RuntimeError) return sendError(req, res, toHttpError(error));
      ctx.warn(`internal error on ${req.method} ${req.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      sendError(req, res, new HttpError(500, 'internal', error instanceof Error ? error.message : String(error)));
    });
  };
}
