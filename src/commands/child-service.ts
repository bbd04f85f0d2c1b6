/**
 * A service the demo runs as its own process — `nebula serve`, `nebula meter simulate` — so the demo
 * measures the real topology (docs/quickstart.md): the same CLI entry is started again with the
 * service's command and port 0, and the address it prints on its first line is read back. Stopping
 * sends SIGINT (the services shut down cleanly on it: no guest, container or port left) and SIGKILL
 * if it has not exited after `graceMs`.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildService {
  /** What the service printed its address as (an http:// or modbus:// URL). */
  readonly address: string;
  readonly pid: number;
  /** Stops the service and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `nebula <args…>` as a child and resolves once a line of its output matches `ready` (its
 * first group is the address). Fails with the child's output when it exits first or takes longer
 * than `timeoutMs`.
 */
export function startChildService(args: string[], ready: RegExp, onLine: (line: string) => void, timeoutMs = 60_000, graceMs = 15_000): Promise<ChildService> {
  // The running CLI again, with the runtime flags it was started with (tsx under tests and dev).
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  return new Promise<ChildService>((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs / 1000} s`), timeoutMs);
    const fail = (why: string): void => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(new Error(`nebula ${args[0] ?? ''} ${why}${output.length ? `:\n${output.slice(-10).join('\n')}` : ''}`));
    };
    const onData = (data: Buffer): void => {
      for (const line of data.toString().split('\n')) {
        if (!line) continue;
        output.push(line);
        onLine(line);
        const match = found ? null : ready.exec(line);
        if (!match) continue;
        found = true;
        clearTimeout(timer);
        resolve({ address: match[1]!, pid: child.pid!, close: () => stop(child, exited, graceMs) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (!found) fail(`exited (${signal ?? `code ${code}`}) before it was ready`);
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
