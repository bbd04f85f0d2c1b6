import { UsageError } from '../errors.js';

/** Placeholder for a command whose issue is still open; replaced by the real module. */
export function notYet(command: string): never {
  throw new UsageError(`\`nebula ${command}\` is not implemented yet`);
}
