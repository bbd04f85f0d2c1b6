/**
 * Request bodies under limits (docs/reliability.md): a size cap per route (413), an idle deadline
 * between chunks (408, so a body sent at 1 byte per 10 s cannot hold a connection), a nesting-depth
 * cap on JSON (400 before JSON.parse sees it) and the thesis endpoint's form/JSON fields.
 */
import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { HttpError } from './http-error.js';

/** What one route accepts: at most `limit` bytes, with no gap longer than `idleMs` between chunks. */
export interface BodyLimit {
  limit: number;
  /** Names the body in messages ("the input"). */
  what: string;
  /** The flag that raises `limit`, named in the 413. */
  limitFlag: string;
  idleMs: number;
}

/**
 * JSON nested deeper than this is refused before parsing: the thesis body is one flat object, and
 * parsing 1 MB of `[[[[…` took 0.39–1.04 s of the event loop (docs/reliability.md).
 */
export const MAX_JSON_DEPTH = 32;

function tooLarge(b: BodyLimit): HttpError {
  return new HttpError(413, 'too-large', `${b.what} is larger than the limit of ${b.limit} bytes (${b.limitFlag})`);
}

function idle(b: BodyLimit): HttpError {
  return new HttpError(408, 'body-timeout', `${b.what} stalled: no data for ${b.idleMs} ms (--body-timeout-ms)`);
}

/**
 * Slowest average rate a body may arrive at, after a grace of `idleMs`: a body dribbled at 1 byte
 * per 5 s never trips the idle deadline, and would otherwise hold its connection until node's
 * request timeout (300 s). At 64 KiB/s a 1 MiB input has 26 s, a 256 MiB upload the full 300 s.
 */
export const MIN_BODY_BYTES_PER_S = 64 * 1024;

function tooSlow(b: BodyLimit, deadlineMs: number): HttpError {
  return new HttpError(408, 'body-timeout', `${b.what} arrived too slowly: not complete within ${Math.round(deadlineMs)} ms (${b.idleMs} ms (--body-timeout-ms) + its size at ${MIN_BODY_BYTES_PER_S / 1024} KiB/s)`);
}

/**
 * Feeds the body to `onChunk` under `b`'s size and idle limits; resolves once it is complete. Rejects
 * 413 as soon as it grows past the limit (declared or counted), 408 when it stalls, 400
 * `body-aborted` when the client goes away first. `onChunk` may throw to stop early.
 */
export function receiveBody(req: IncomingMessage, b: BodyLimit, onChunk: (chunk: Buffer) => void): Promise<void> {
  const declared = Number(req.headers['content-length']);
  if (declared > b.limit) return Promise.reject(tooLarge(b));
  return new Promise<void>((resolve, reject) => {
    let size = 0;
    let settled = false;
    const timer = setTimeout(() => fail(idle(b)), b.idleMs);
    const expected = Number.isFinite(declared) && declared >= 0 ? declared : b.limit;
    const deadlineMs = b.idleMs + (1000 * expected) / MIN_BODY_BYTES_PER_S;
    const deadline = setTimeout(() => fail(tooSlow(b, deadlineMs)), deadlineMs);
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    const fail = (error: Error): void => {
      if (settled) return;
      cleanup();
      // The rest of the body is not read: the answer goes out with Connection: close (see app.ts).
      req.pause();
      reject(error);
    };
    const done = (): void => {
      if (settled) return;
      cleanup();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > b.limit) return fail(tooLarge(b));
      try {
        onChunk(chunk);
      } catch (error) {
        return fail(error instanceof Error ? error : new Error(String(error)));
      }
      timer.refresh();
      // With a Content-Length, the last byte completes the body: resolving here rather than on
      // 'end' saves a turn of the event loop (~20-30 µs) on every invocation's cold start.
      if (size === declared) done();
    };
    const onEnd = (): void => done();
    const onAbort = (): void => fail(new HttpError(400, 'body-aborted', `the client closed the connection before ${b.what} was complete`));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/** A check of a body's first bytes, run as soon as they arrive (throws to refuse the rest). */
export interface HeadCheck {
  bytes: number;
  check: (head: Buffer) => void;
}

/**
 * Reads the whole body into memory under `b`. With `head`, its first `head.bytes` bytes are checked
 * as soon as they are in, so e.g. 200 MB that are no wasm module are refused after the first chunk
 * instead of after all of it.
 */
export async function readBody(req: IncomingMessage, b: BodyLimit, head?: HeadCheck): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let checked = head === undefined;
  await receiveBody(req, b, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    if (!checked && size >= head!.bytes) {
      checked = true;
      head!.check(Buffer.concat(chunks).subarray(0, head!.bytes));
    }
  });
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (!checked && body.length > 0) head!.check(body);
  return body;
}

/**
 * Throws 400 when the JSON text nests arrays/objects deeper than `max`. One pass over the bytes,
 * skipping strings, stopping at the first level too deep — linear and allocation-free, unlike
 * JSON.parse, whose cost on deep nesting is what an attacker would buy.
 */
export function checkJsonDepth(body: Uint8Array, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new HttpError(400, 'bad-body', `body nests JSON deeper than ${max} levels; send a flat object with function_name, input and module_type`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/** The media type of a Content-Type header, lower-case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads the fields of a JSON object, urlencoded form or multipart form body into strings. Multipart
 * is streamed through @fastify/busboy (a 1 MB field: 79 ms, against 342 ms through undici's
 * `Response.formData()`, measured on this project's 2-vCPU VM) with the same size and idle limits.
 */
export async function readFields(req: IncomingMessage, b: BodyLimit): Promise<Map<string, string>> {
  const contentType = req.headers['content-type'];
  if (mediaType(contentType) === 'multipart/form-data') return readMultipart(req, b, contentType!);
  return parseFields(await readBody(req, b), contentType);
}

/** Parses a JSON object or urlencoded form body (already read) into string fields. */
export function parseFields(body: Buffer, contentType: string | undefined): Map<string, string> {
  const type = mediaType(contentType);
  const fields = new Map<string, string>();
  if (type === 'application/json' || (type === '' && body[0] === 0x7b)) {
    checkJsonDepth(body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HttpError(400, 'bad-body', `body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HttpError(400, 'bad-body', 'body must be a JSON object with function_name, input and module_type');
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields.set(k, String(v));
    }
    return fields;
  }
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) fields.set(k, v);
  return fields;
}

function readMultipart(req: IncomingMessage, b: BodyLimit, contentType: string): Promise<Map<string, string>> {
  const fields = new Map<string, string>();
  let parser: BusboyInstance;
  try {
    parser = Busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: b.limit, fields: 16, parts: 16, files: 0 } });
  } catch (error) {
    return Promise.reject(new HttpError(400, 'bad-body', `multipart body: ${error instanceof Error ? error.message : String(error)}`));
  }
  const parsed = new Promise<Map<string, string>>((resolve, reject) => {
    parser.on('field', (name, value) => fields.set(name, value));
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('finish', () => resolve(fields));
    parser.on('error', (error: Error) => reject(new HttpError(400, 'bad-body', `multipart body: ${error.message}`)));
  });
  parsed.catch(() => undefined); // awaited below, after the body
  return receiveBody(req, b, (chunk) => parser.write(chunk)).then(() => {
    parser.end();
    return parsed;
  });
}
