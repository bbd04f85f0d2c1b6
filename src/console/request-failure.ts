/** A request that got no InvocationResult (target down, HTTP error status, aborted) as the result part of its line. */
import { TargetError, describeError } from '../errors.js';
import type { Runtime } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';

export type ResultPart = Omit<InvocationLine, 'run_id' | 'seq' | 'rep' | 'warmup' | 'client' | 'clock' | 'energy'>;

/** What a line says about a failed request: ok false, no metrics, and the request error. */
export function failedRequest(call: { function: string; input: string; runtime: Runtime }, error: unknown): ResultPart {
  const code = error instanceof TargetError ? error.code : 'request-failed';
  const status = error instanceof TargetError ? error.status : undefined;
  return unanswered(call, { code, message: describeError(error), ...(status === undefined ? {} : { status }) });
}

/** The result part of a line whose request got no answer (failed, or never sent): `request_error` says why. */
export function unanswered(
  call: { function: string; input: string; runtime: Runtime },
  requestError: { code: string; message: string; status?: number },
): ResultPart {
  return {
    function: call.function,
    runtime: call.runtime,
    input: call.input,
    output: '',
    ok: false,
    exit_code: null,
    start_source: 'host',
    error: requestError.message,
    metrics: null,
    request_error: requestError,
  };
}
