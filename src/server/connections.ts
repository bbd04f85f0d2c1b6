/**
 * Connection-level defences of `nebula serve` (docs/reliability.md): a cap on open connections that
 * makes room for a new client by closing the oldest connection with no request in progress, and
 * JSON error bodies for framing errors node:http answers before any handler runs.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Tracked {
  /** A request on it is being read or answered; a connection still sending its headers is not busy. */
  busy: boolean;
  /** Set until the first request's headers are complete. */
  headerTimer: NodeJS.Timeout | undefined;
}

/**
 * Caps open connections at `max`. Past the cap, the oldest connection not busy with a request
 * (one still dribbling its headers, or an idle keep-alive one) is closed to admit the newcomer; when
 * every connection is busy the newcomer is closed instead. Without this, 20,000 slow connections
 * exhausted the process's descriptors and 76 of 94 probes failed for 76 s (docs/reliability.md).
 *
 * A new connection must also complete its first request's headers within `headersTimeoutMs` or get
 * a 408: with node's own headersTimeout alone, 1,024 of 1,500 such connections were still open
 * 2.5× past a 2 s deadline (all closed only by 7.5×; Node 20.20 on the 2-vCPU VM). Node's check
 * still covers later requests on a kept-alive connection. Returns a function giving the open connections.
 */
export function capConnections(server: Server, max: number, headersTimeoutMs: number): () => number {
  const open = new Map<Socket, Tracked>();
  server.on('connection', (socket: Socket) => {
    const tracked: Tracked = { busy: false, headerTimer: undefined };
    tracked.headerTimer = setTimeout(() => {
      tracked.headerTimer = undefined;
      if (!tracked.busy) answerAndClose(socket, 408, 'request-timeout', `the request headers did not arrive within ${headersTimeoutMs} ms (--header-timeout-ms)`);
    }, headersTimeoutMs);
    tracked.headerTimer.unref();
    open.set(socket, tracked);
    socket.once('close', () => {
      clearTimeout(tracked.headerTimer);
      open.delete(socket);
    });
    if (open.size <= max) return;
    for (const [other, state] of open) {
      if (other === socket) break;
      if (!state.busy) {
        clearTimeout(state.headerTimer);
        other.destroy();
        open.delete(other);
        return;
      }
    }
    open.delete(socket);
    clearTimeout(tracked.headerTimer);
    socket.destroy();
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = open.get(req.socket);
    if (!state) return;
    state.busy = true;
    clearTimeout(state.headerTimer);
    state.headerTimer = undefined;
    res.once('close', () => (state.busy = false));
  });
  return () => open.size;
}

/** Writes a complete JSON error response straight to the socket and closes it. */
function answerAndClose(socket: Socket, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // A peer that never reads must not hold the socket open with our unsent answer.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Default for `--max-connections`: 1024, or half the process's descriptor limit when that is lower,
 * so connections alone can never exhaust the descriptors the store, workers and containers need.
 */
export function defaultMaxConnections(): number {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft) return Math.max(16, Math.min(1024, Math.floor(Number(soft) / 2)));
  } catch {
    // Not Linux: /proc is absent; the fixed default applies.
  }
  return 1024;
}

/** Status, code and message for a request node:http could not frame. */
function framingError(error: NodeJS.ErrnoException): [number, string, string] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'headers-too-large', 'the request headers are larger than the limit (--max-header-kb)'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request-timeout', 'the request did not arrive in time (--header-timeout-ms for the headers, --request-timeout-ms for all of it)'];
    default:
      return [400, 'bad-request', `the request is not valid HTTP/1.1: ${(error.message || 'parse error').slice(0, 200)}`];
  }
}

/**
 * Answers framing errors (header overflow, header/request timeout, malformed requests) in the
 * documented JSON shape with the fitting status, and closes the connection.
 */
export function answerFramingErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A reset peer cannot read an answer, and one that already has (part of) a response must not get another.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    answerAndClose(socket, ...framingError(error));
  });
}
