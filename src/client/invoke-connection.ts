/**
 * A minimal HTTP/1.1 keep-alive client for invocations on the load generator's path: one socket per
 * connection, one request in flight on each, the request text prebuilt per (function, runtime, mode)
 * with only the body and its Content-Length varying, and a small incremental parser of the answer
 * (status line, Content-Length / chunked / until close, Connection). Everything else goes through
 * undici (src/client/target.ts): this exists because undici's dispatch alone cost ~35 µs of CPU per
 * request where a raw socket with a prebuilt request costs ~23 µs, and that difference kept the
 * closed loop under 0.8× autocannon's throughput (docs/performance.md, "Load generator").
 * Answers and failures map to the same results and TargetErrors as TargetClient.invoke (one mapping,
 * in target.ts), so a load run's lines do not depend on which client sent them.
 */
import { connect, type Socket } from 'node:net';
import type { InvocationResult, Runtime, StartMode } from '../protocol/api.js';
import { parseInvocationResult } from '../protocol/invocation-check.js';
import { answerData, checkedShape, invokePath, sendFailure, watch, type Abortable, type Answer } from './target.js';

export interface InvokeConnectionOptions {
  token?: string | undefined;
  /** Idle time allowed while waiting for the answer (its head or the next piece of its body), ms. */
  timeoutMs: number;
  /** Connections at most; requests beyond wait for one to be free (as in undici's Pool). */
  connections: number;
}

/** Heads longer than this are not a nebula answer: the connection is dropped rather than buffered on. */
const MAX_HEAD_BYTES = 64 * 1024;

export class InvokeConnections {
  readonly url: URL;
  readonly #options: InvokeConnectionOptions;
  /** The path and "POST <path> HTTP/1.1 … content-length: " per (runtime, mode, function). */
  readonly #requests = new Map<string, { path: string; prefix: string }>();
  readonly #headers: string;
  readonly #all = new Set<Connection>();
  readonly #idle: Connection[] = [];
  readonly #queue: Invocation[] = [];
  #closed = false;

  constructor(url: URL, options: InvokeConnectionOptions) {
    this.url = url;
    this.#options = options;
    this.#headers =
      `host: ${url.host}\r\n` + (options.token ? `authorization: Bearer ${options.token}\r\n` : '') + 'content-type: application/octet-stream\r\ncontent-length: ';
  }

  /** As TargetClient.invoke: the checked answer, or the TargetError it maps to. */
  invoke(name: string, input: string, runtime: Runtime, signal?: AbortSignal, mode: StartMode = 'cold'): Promise<InvocationResult> {
    const key = `${runtime} ${mode} ${name}`;
    let request = this.#requests.get(key);
    if (request === undefined) {
      const path = invokePath(name, runtime, mode);
      request = { path, prefix: `POST ${path} HTTP/1.1\r\n${this.#headers}` };
      this.#requests.set(key, request);
    }
    const { path, prefix } = request;
    return new Promise((resolve, reject) => {
      const call = new Invocation(this, path, `${prefix}${Buffer.byteLength(input)}\r\n\r\n${input}`, signal, resolve, reject);
      if (signal) {
        if (signal.aborted) return call.fail(signal.reason);
        watch(signal, call);
      }
      if (this.#closed) return call.fail(new Error('the client is closed'));
      this.#start(call);
    });
  }

  /** Ends every connection; requests still waiting for one fail. */
  close(): void {
    this.#closed = true;
    for (const call of this.#queue.splice(0)) call.fail(new Error('the client is closed'));
    for (const c of this.#all) c.socket.destroy();
  }

  #start(call: Invocation): void {
    const idle = this.#idle.pop();
    if (idle) idle.send(call);
    else if (this.#all.size < this.#options.connections) this.#open().send(call);
    else this.#queue.push(call);
  }

  #open(): Connection {
    const c = new Connection(this, connect({ host: this.url.hostname, port: Number(this.url.port || 80), noDelay: true }), this.#options.timeoutMs);
    this.#all.add(c);
    return c;
  }

  /** A connection whose answer is complete and that stays open: the next waiting request, or idle. */
  released(c: Connection): void {
    const next = this.#queue.shift();
    if (next) c.send(next);
    else {
      c.socket.unref();
      this.#idle.push(c);
    }
  }

  /** A connection that closed: forgotten; a waiting request gets a new one. */
  closed(c: Connection): void {
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = !this.#closed && this.#queue.length > 0 ? this.#queue.shift() : undefined;
    if (next) this.#open().send(next);
  }

  /** Takes a request that has not been sent yet off the queue (it was aborted). */
  unqueue(call: Invocation): void {
    const i = this.#queue.indexOf(call);
    if (i >= 0) this.#queue.splice(i, 1);
  }
}

/** One invocation: settles its promise once, with the checked answer or the mapped error. */
class Invocation implements Abortable {
  watchers: Set<Abortable> | null = null;
  connection: Connection | null = null;
  #settled = false;

  constructor(
    readonly pool: InvokeConnections,
    readonly path: string,
    readonly text: string,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (result: InvocationResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  abort(reason: unknown): void {
    if (this.#settled) return;
    if (this.connection) this.connection.drop(this);
    else this.pool.unqueue(this);
    this.fail(reason);
  }

  answered(answer: Answer): void {
    if (this.#settled) return;
    this.#settle();
    const url = this.pool.url;
    try {
      this.resolve(checkedShape(url, this.path, parseInvocationResult(answerData(url, 'POST', this.path, answer))));
    } catch (error) {
      this.reject(error);
    }
  }

  fail(error: unknown): void {
    if (this.#settled) return;
    this.#settle();
    this.reject(sendFailure(this.pool.url, 'POST', this.path, error, this.signal));
  }

  #settle(): void {
    this.#settled = true;
    this.connection = null;
    this.watchers?.delete(this);
  }
}

const enum Phase {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  Trailer,
  UntilClose,
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive socket and the parser of the answer in flight on it. */
class Connection {
  #call: Invocation | null = null;
  #phase = Phase.Head;
  /** Bytes of an incomplete head, chunk-size line or trailer, kept until the rest arrives. */
  #pending: Buffer | null = null;
  #status = 0;
  #contentType: string | undefined;
  #keepAlive = true;
  #remaining = 0;
  #afterChunk = false;
  #body: Buffer[] = [];

  constructor(
    readonly pool: InvokeConnections,
    readonly socket: Socket,
    timeoutMs: number,
  ) {
    socket.setTimeout(timeoutMs);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('timeout', () => {
      if (this.#call) this.#fail(new Error(`Timeout: no answer within ${timeoutMs} ms`));
    });
    socket.on('end', () => {
      if (this.#call && this.#phase === Phase.UntilClose) this.#complete(false);
      else if (this.#call) this.#fail(new Error('other side closed'));
    });
    socket.on('error', (error) => {
      if (this.#call) this.#fail(error);
    });
    socket.on('close', () => {
      if (this.#call) this.#fail(new Error('other side closed'));
      pool.closed(this);
    });
  }

  send(call: Invocation): void {
    this.#call = call;
    call.connection = this;
    this.#phase = Phase.Head;
    this.#pending = null;
    this.#body = [];
    this.socket.ref();
    this.socket.write(call.text);
  }

  /** Ends the request in flight without an answer (its signal aborted): the socket cannot be reused. */
  drop(call: Invocation): void {
    if (this.#call !== call) return;
    this.#call = null;
    this.socket.destroy();
  }

  #fail(error: unknown): void {
    const call = this.#call;
    this.#call = null;
    this.socket.destroy();
    call?.fail(error);
  }

  #data(chunk: Buffer): void {
    if (!this.#call) {
      // Bytes with no request in flight: not an HTTP/1.1 server we can keep talking to.
      this.socket.destroy();
      return;
    }
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = null;
    for (;;) {
      switch (this.#phase) {
        case Phase.Head: {
          const end = buf.indexOf(HEAD_END);
          if (end < 0) return this.#keep(buf);
          const error = this.#head(buf.toString('latin1', 0, end));
          if (error) return this.#fail(new Error(error));
          buf = buf.subarray(end + 4);
          if (this.#status < 200) continue; // 1xx: the real answer follows
          if ((this.#phase as Phase) === Phase.Length && this.#remaining === 0) return this.#complete(buf.length === 0);
          continue;
        }
        case Phase.Length: {
          if (buf.length === 0) return;
          if (buf.length < this.#remaining) {
            this.#body.push(buf);
            this.#remaining -= buf.length;
            return;
          }
          this.#body.push(buf.subarray(0, this.#remaining));
          // Bytes past the answer (none from a well-behaved server): do not reuse the socket.
          return this.#complete(buf.length === this.#remaining);
        }
        case Phase.ChunkSize: {
          const eol = buf.indexOf(CRLF);
          if (eol < 0) return this.#keep(buf);
          const line = buf.toString('latin1', 0, eol);
          buf = buf.subarray(eol + 2);
          if (this.#afterChunk && line === '') {
            this.#afterChunk = false;
            continue;
          }
          const semi = line.indexOf(';');
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          const size = /^[0-9a-f]+$/i.test(hex) ? parseInt(hex, 16) : NaN;
          if (Number.isNaN(size) || this.#afterChunk) return this.#fail(new Error(`malformed chunked answer (chunk size ${JSON.stringify(line.slice(0, 20))})`));
          if (size === 0) this.#phase = Phase.Trailer;
          else {
            this.#remaining = size;
            this.#phase = Phase.ChunkData;
          }
          continue;
        }
        case Phase.ChunkData: {
          if (buf.length === 0) return;
          const take = Math.min(this.#remaining, buf.length);
          this.#body.push(buf.subarray(0, take));
          this.#remaining -= take;
          buf = buf.subarray(take);
          if (this.#remaining === 0) {
            this.#phase = Phase.ChunkSize;
            this.#afterChunk = true;
          }
          continue;
        }
        case Phase.Trailer: {
          const eol = buf.indexOf(CRLF);
          if (eol < 0) return this.#keep(buf);
          buf = buf.subarray(eol + 2);
          if (eol === 0) return this.#complete(buf.length === 0);
          continue;
        }
        case Phase.UntilClose:
          this.#body.push(buf);
          return;
      }
    }
  }

  /** Keeps an incomplete line or head for the next chunk; a head that never ends is not an answer. */
  #keep(buf: Buffer): void {
    if (buf.length > MAX_HEAD_BYTES) return this.#fail(new Error(`answer head over ${MAX_HEAD_BYTES} bytes`));
    this.#pending = buf;
  }

  /** Reads the status line and the headers that matter; sets the body's phase. A string says what is malformed. */
  #head(head: string): string | null {
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!status) return `not an HTTP/1.x answer: ${JSON.stringify(lines[0]!.slice(0, 40))}`;
    this.#status = Number(status[2]);
    this.#keepAlive = status[1] === '1';
    this.#contentType = undefined;
    let length: number | null = null;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') {
        const value = line.slice(colon + 1).trim();
        if (!/^\d+$/.test(value) || (length !== null && length !== Number(value))) return `bad content-length ${JSON.stringify(value)}`;
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(line.slice(colon + 1));
      else if (name === 'connection') {
        const value = line.slice(colon + 1).trim().toLowerCase();
        if (value === 'close') this.#keepAlive = false;
        else if (value === 'keep-alive') this.#keepAlive = true;
      } else if (name === 'content-type') this.#contentType ??= line.slice(colon + 1).trim();
    }
    if (this.#status < 200) return null;
    if (this.#status === 204 || this.#status === 304) {
      this.#phase = Phase.Length;
      this.#remaining = 0;
    } else if (chunked) {
      this.#phase = Phase.ChunkSize;
      this.#afterChunk = false;
    } else if (length !== null) {
      this.#phase = Phase.Length;
      this.#remaining = length;
    } else {
      this.#phase = Phase.UntilClose;
      this.#keepAlive = false;
    }
    return null;
  }

  /** The answer is whole: the socket goes back (or is closed), then the invocation settles. */
  #complete(clean: boolean): void {
    const call = this.#call!;
    this.#call = null;
    const body = this.#body;
    this.#body = [];
    const text = body.length === 0 ? '' : body.length === 1 ? body[0]!.toString('utf8') : Buffer.concat(body).toString('utf8');
    const answer: Answer = { status: this.#status, contentType: this.#contentType, text };
    if (clean && this.#keepAlive && !this.socket.destroyed) this.pool.released(this);
    else this.socket.destroy();
    call.answered(answer);
  }
}
