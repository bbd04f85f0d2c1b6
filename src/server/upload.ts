/**
 * Receiving an artifact upload: the body goes to a file in the store's `.tmp` as it arrives (with
 * backpressure, so a slow disk slows the client instead of filling memory), hashed on the way, its
 * first bytes checked by the runtime before the rest is accepted. On any failure — a refused head,
 * a limit, a write error, the client gone — the file is removed before the error propagates: nothing
 * half-written stays (docs/reliability.md, "Uploads").
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream/promises';
import { receiveBody, type BodyLimit, type HeadCheck } from './body.js';
import type { Upload } from './host/runtime.js';

/** An Upload that can also be discarded (its file removed; a no-op once the store moved it). */
export interface ReceivedUpload extends Upload {
  discard(): Promise<void>;
}

/** Receives `req`'s body under `b` into the new file `path` (in the store's .tmp). */
export async function receiveUpload(req: IncomingMessage, b: BodyLimit, path: string, head?: HeadCheck): Promise<ReceivedUpload> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600, flush: true });
  let writeError: Error | undefined;
  out.on('error', (error) => {
    writeError = error;
    // A paused request waits for a 'drain' that will not come: the next chunk reports the error.
    req.resume();
  });
  const hash = createHash('sha256');
  const first: Buffer[] = [];
  let firstBytes = 0;
  let checked = head === undefined;
  let size = 0;
  try {
    await receiveBody(req, b, (chunk) => {
      if (writeError) throw writeError;
      size += chunk.length;
      if (!checked) {
        first.push(chunk);
        firstBytes += chunk.length;
        if (firstBytes >= head!.bytes) {
          checked = true;
          head!.check(Buffer.concat(first).subarray(0, head!.bytes));
          first.length = 0;
        }
      }
      hash.update(chunk);
      if (!out.write(chunk)) {
        req.pause();
        out.once('drain', () => req.resume());
      }
    });
    if (!checked && size > 0) head!.check(Buffer.concat(first));
    out.end();
    // flush: true → fsync before close, so the rename that stores the file publishes whole bytes.
    await finished(out);
    if (writeError) throw writeError;
  } catch (error) {
    out.destroy();
    // Wait for the descriptor to close (the open may still be in flight): an rm before it would
    // leave the file that the open then creates.
    await finished(out).catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
  return {
    path,
    size,
    sha256: hash.digest('hex'),
    read: () => readFile(path),
    stream: () => createReadStream(path),
    discard: () => rm(path, { force: true }),
  };
}
