/** Content hashes of artifacts (the store and runtimes key artifacts by them). */
import { createHash } from 'node:crypto';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
