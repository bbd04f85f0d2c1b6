/** `nebula invoke NAME [INPUT]`: one invocation through TargetClient; prints the InvocationResult JSON. */
import { TargetClient, parseTargetUrl } from '../client/target.js';
import { ExitCode, UsageError } from '../errors.js';
import { RUNTIMES, RuntimeSchema } from '../protocol/api.js';

export interface InvokeFlags {
  runtime?: string;
  target?: string;
  token?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function invokeCommand(name: string, input: string | undefined, opts: InvokeFlags): Promise<number> {
  const runtime = RuntimeSchema.safeParse(opts.runtime ?? 'wasm');
  if (!runtime.success) {
    throw new UsageError(`--runtime "${opts.runtime}" is unknown; use one of ${RUNTIMES.join(', ')}`);
  }
  const url = parseTargetUrl(opts.target ?? 'http://127.0.0.1:3090');
  // Input from stdin only when it is piped: an interactive terminal would wait for EOF forever.
  const text = input ?? (process.stdin.isTTY ? '' : await readStdin());
  const client = new TargetClient(url, { token: opts.token });
  try {
    const result = await client.invoke(name, text, runtime.data);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? ExitCode.Ok : ExitCode.Failures;
  } finally {
    await client.close();
  }
}
