/**
 * `nebula deploy [paths...] --target URL [--token T] [--name N] [--no-native] [--no-component]`: function directories
 * (what `nebula build` made) or artifact files; one line per uploaded artifact on stderr.
 */
import { resolveFunctionDirs } from '../build/index.js';
import { TargetClient, parseTargetUrl } from '../client/target.js';
import { deployFunctions, type DeployEvent } from '../deploy/index.js';
import { ExitCode } from '../errors.js';

export interface DeployFlags {
  target?: string;
  token?: string;
  name?: string;
  native?: boolean;
  component?: boolean;
}

export async function deployCommand(paths: string[], opts: DeployFlags): Promise<number> {
  const url = parseTargetUrl(opts.target ?? 'http://127.0.0.1:3090');
  const targets = await resolveFunctionDirs(paths);
  // Docker image builds on the server take a while on a Raspberry Pi: allow minutes, not the client's default.
  const client = new TargetClient(url, { token: opts.token, timeoutMs: 600_000 });
  try {
    const report = await deployFunctions(client, targets, {
      native: opts.native !== false,
      component: opts.component !== false,
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      onProgress: printProgress,
    });
    for (const note of report.notes) process.stderr.write(`note: ${note}\n`);
    const count = report.functions.length;
    process.stderr.write(`deployed ${count} function${count === 1 ? '' : 's'} to ${report.target} (${report.arch})\n`);
    return ExitCode.Ok;
  } finally {
    await client.close();
  }
}

function printProgress(event: DeployEvent): void {
  if (event.type !== 'deployed') return;
  const size = `${(event.bytes / 1024).toFixed(1)} KiB`.padStart(10);
  process.stderr.write(`${event.name.padEnd(22)} ${event.kind.padEnd(9)} ${size}  ${event.path}  (${Math.round(event.ms)} ms)\n`);
}
