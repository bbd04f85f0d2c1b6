/**
 * The launcher every native call is spawned through: it applies the memory cap (RLIMIT_AS, inherited
 * by everything the function forks) and reports how the function ended and its peak memory, which
 * Node cannot learn itself — libuv reaps a child without its rusage, and a process's memory is gone
 * from /proc by the time its pipes close. Without that figure a function that failed because an
 * allocation past the cap failed looks like any other failure (docs/runtimes.md, "Limits").
 *
 * The launcher is a few lines of C compiled once per machine with the system's C compiler into the
 * user's cache (~/.cache/nebula). Where no compiler works, the cap is applied with util-linux
 * `prlimit` instead (same limit, no report); where neither exists, native calls run uncapped and
 * the runtime says so (`containment()`).
 *
 * Protocol (fd 3 of the launcher, a pipe): `exec-failed <errno>`, or `pid <n>` once the function is
 * started and `exit <code> <peak KiB>` / `signal <number> <peak KiB>` when it ended. The launcher
 * starts the function with posix_spawn, the cheapest of the means measured (docs/runtimes.md, "Native:
 * the memory cap and the launcher").
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const SOURCE = String.raw`/* nebula native launcher: see src/server/runtimes/native/launcher.ts */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void report(const char *line) {
  size_t n = strlen(line);
  while (n > 0) {
    ssize_t w = write(3, line, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    line += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  char line[96];
  if (argc < 3) return 127;
  unsigned long long cap = strtoull(argv[1], NULL, 10);
  /* Set here and inherited: posix_spawn (vfork-like) starts the function faster than fork + exec. */
  if (cap > 0) {
    struct rlimit limit = { (rlim_t)cap, (rlim_t)cap };
    setrlimit(RLIMIT_AS, &limit);
  }
  fcntl(3, F_SETFD, FD_CLOEXEC);
  pid_t pid;
  int failed = posix_spawn(&pid, argv[2], NULL, NULL, argv + 2, environ);
  if (failed) {
    snprintf(line, sizeof line, "exec-failed %d\n", failed);
    report(line);
    return 127;
  }
  /* The function alone holds the stdio pipes: they close when it (and what it forked) is done. */
  close(0);
  close(1);
  close(2);
  signal(SIGPIPE, SIG_IGN);
  snprintf(line, sizeof line, "pid %d\n", (int)pid);
  report(line);
  int status = 0;
  struct rusage usage;
  memset(&usage, 0, sizeof usage);
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) return 125;
  }
  if (WIFSIGNALED(status)) snprintf(line, sizeof line, "signal %d %ld\n", WTERMSIG(status), usage.ru_maxrss);
  else snprintf(line, sizeof line, "exit %d %ld\n", WEXITSTATUS(status), usage.ru_maxrss);
  report(line);
  return 0;
}
`;

/** How native calls get their memory cap on this machine. */
export type CapMeans =
  | { kind: 'launcher'; path: string }
  | { kind: 'prlimit'; path: string }
  | { kind: 'none'; reason: string };

/** What the launcher reported about one call (undefined fields: not reported, e.g. it was killed). */
export interface LaunchReport {
  pid?: number;
  execErrno?: number;
  exitCode?: number;
  signal?: number;
  peakBytes?: number;
}

/** Parses the launcher's fd 3 lines. */
export function parseReport(text: string): LaunchReport {
  const report: LaunchReport = {};
  for (const line of text.split('\n')) {
    const [key, a, b] = line.split(' ');
    const n = Number(a);
    if (!Number.isInteger(n)) continue;
    if (key === 'pid') report.pid = n;
    else if (key === 'exec-failed') report.execErrno = n;
    else if (key === 'exit' || key === 'signal') {
      if (key === 'exit') report.exitCode = n;
      else report.signal = n;
      const kib = Number(b);
      if (Number.isFinite(kib)) report.peakBytes = kib * 1024;
    }
  }
  return report;
}

function run(file: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 60_000 }, (error) => (error ? reject(error) : resolve()));
    child.stdin?.end(input);
  });
}

/** The first executable called `name` on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The user's cache directory for nebula (`$XDG_CACHE_HOME/nebula`, else ~/.cache/nebula). */
function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nebula');
}

/** The launcher's file in `cacheDir`, named by the source's hash and the architecture. */
function cachedPath(cacheDir: string): string {
  const hash = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);
  return join(cacheDir, `native-launcher-${process.arch}-${hash}`);
}

/** Compiles the launcher (static where the C library allows it) into `out`, atomically. */
async function compile(out: string, compiler: string): Promise<void> {
  await mkdir(join(out, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    try {
      await run(compiler, ['-O2', '-static', '-x', 'c', '-o', tmp, '-'], SOURCE);
    } catch {
      await run(compiler, ['-O2', '-x', 'c', '-o', tmp, '-'], SOURCE);
    }
    await chmod(tmp, 0o755);
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Finds how to cap native calls here: the cached launcher (compiled now if missing, with `$CC` or
 * `cc`), else `prlimit`, else nothing (with the reason). Never throws. `options` are for tests.
 */
export async function findCapMeans(options: { compiler?: string; cacheDir?: string } = {}): Promise<CapMeans> {
  const path = cachedPath(options.cacheDir ?? defaultCacheDir());
  let compileError = '';
  if (!existsSync(path)) {
    const compiler = options.compiler ?? (process.env.CC || 'cc');
    try {
      await compile(path, compiler);
    } catch (error) {
      compileError = `no launcher (${compiler} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
    }
  }
  if (existsSync(path)) return { kind: 'launcher', path };
  const prlimit = onPath('prlimit');
  if (prlimit) return { kind: 'prlimit', path: prlimit };
  return { kind: 'none', reason: `${compileError} and no prlimit (util-linux) on PATH` };
}

/** The command that runs `fn` under a cap of `capBytes` with `means`. */
export function launchCommand(means: CapMeans, fn: string, capBytes: number): { file: string; args: string[] } {
  if (means.kind === 'launcher') return { file: means.path, args: [String(capBytes), fn] };
  if (means.kind === 'prlimit') return { file: means.path, args: [`--as=${capBytes}`, '--', fn] };
  return { file: fn, args: [] };
}
