/** Processes seen through /proc: whether one runs, which run from a directory, waiting for them to go. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** True while `pid` runs (a zombie waiting for its reaper counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits up to 5 s for every pid in `pids` to be gone; fails naming those still running. */
export async function waitGone(pids: number[]): Promise<void> {
  for (let i = 0; i < 200 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(pids.filter(alive), [], 'processes still running');
}

/** Live processes whose executable is under `dir` (the functions of one test server's store). */
export function processesRunningFrom(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`).startsWith(dir) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/** The parent of `pid` (PPid in /proc/<pid>/status). */
export function parentOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('PPid:'));
  return Number(line?.split(/\s+/)[1]);
}

/** The command line of `pid`, arguments joined by spaces. */
export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
}

/** Polls until `find()` returns a non-empty list (up to 10 s). */
export async function waitFor<T>(find: () => T[]): Promise<T[]> {
  for (let i = 0; i < 400; i++) {
    const found = find();
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail('nothing appeared within 10 s');
}
