/**
 * Raw HTTP calls for tests that check status codes and error bodies the TargetClient would throw on.
 * node:http sends the path exactly as given (fetch would normalise "%2e%2e" away).
 */
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  text: string;
  json: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends one request and parses a JSON body when there is one. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The `error.code` of a JSON error body. */
export function errorCode(r: RawResponse): string | undefined {
  return (r.json as { error?: { code?: string } } | undefined)?.error?.code;
}
