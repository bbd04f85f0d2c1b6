/**
 * One native call's process, as the spawner process runs it (./spawner-process.ts): the function is
 * started through the launcher (./launcher.ts: memory cap, how it ended, peak memory) with its stdio
 * piped, in its own process group (`detached`) and its own ProcessTree (src/server/host/process-tree.ts).
 * When the function exits, at the timeout, when the call is stopped and at shutdown, the group and the
 * tree are killed: a child it forked — even one that left the group with setsid() — would otherwise keep
 * the stdout pipe open, so 'close' (and the reply, and the slot) would wait for it. If the pipes are
 * still held a moment after the function exited, the tree is hunted (/proc scan) and the pipes cut, so
 * the reply never waits on an escaped process.
 *
 * ready = just before spawn (a cold call) or when the input is handed over (a prepared process);
 * host start estimate = the 'spawn' event; ended = the 'exit' event (docs/api.md, timestamps).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { RuntimeError, atMemoryCap, cancelled, memoryCapReached } from '../../host/errors.js';
import type { Clock } from '../../host/clock.js';
import { OutputBuffer } from '../../host/output-buffer.js';
import type { ProcessTrees } from '../../host/process-tree.js';
import type { Limits, RawRun } from '../../host/runtime.js';
import { launchCommand, parseReport, type CapMeans } from './launcher.js';

/** After the function exited, how long its output pipes may stay open before the tree is hunted and they are cut. */
const PIPE_GRACE_MS = 200;

/** Why a call was ended from outside. */
export type StopReason = 'timeout' | 'cancelled' | 'shutting-down';

/** Exit status in the shell's (and Docker's) convention: 128 + signal number for a killed process. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** The name of signal number `n` (SIGSEGV for 11). */
function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === n);
}

/** The name of errno `n` (ENOEXEC for 8), else the number. */
function errnoName(n: number): string {
  return Object.entries(constants.errno).find(([, value]) => value === n)?.[0] ?? `errno ${n}`;
}

/** SIGKILLs process group `pgid`. Never throws: it runs in event handlers, and a group already gone (ESRCH) is the usual case. */
function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

/** What every launch of one spawner shares. */
export interface LaunchContext {
  clock: Clock;
  trees: ProcessTrees;
  cap: CapMeans;
  /** An after-exit hunt began (+1) or ended (−1): the server is not settled meanwhile. */
  hunting(delta: 1 | -1): void;
}

/** A spawned function; it runs once `go` hands it its input. */
export interface Launch {
  /** Hands it the input (a prepared process: its ready stamp is now) and resolves with its run. */
  go(input: Uint8Array, prepared: boolean): Promise<RawRun>;
  /** Ends it from outside: kills all it runs and finds what escaped; its run then rejects. */
  stop(why: StopReason): void;
  /** The run (or its failure) once its pipes closed; discarding it before `go` never rejects unhandled. */
  readonly outcome: Promise<RawRun>;
}

/** Spawns `path` (through the launcher) with its stdio piped and every handler in place. */
export function launch(ctx: LaunchContext, path: string, limits: Limits): Launch {
  const { clock, trees, cap } = ctx;
  const { timeoutMs, maxOutputBytes, maxMemoryMb } = limits;
  const stdout = new OutputBuffer(maxOutputBytes);
  const stderr = new OutputBuffer(maxOutputBytes);
  let stopped: StopReason | undefined;
  let hostStartUs = 0;
  let endedUs = 0;
  let grace: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Spawned ahead of its call (`prewarmed`). */
  let prepared = false;
  const tree = trees.open(maxMemoryMb);
  const launched = launchCommand(cap, path, maxMemoryMb * 1024 * 1024);
  let readyUs = clock.nowUs();
  const child = spawn(launched.file, launched.args, {
    // fd 3: the launcher's report (./launcher.ts)
    stdio: cap.kind === 'launcher' ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    env: tree.env,
    cwd: '/',
    detached: true,
  });
  const pgid = child.pid;
  const reportPipe = child.stdio[3] as Readable | null | undefined;
  let reportText = '';
  let adoptedFunction = false;
  reportPipe?.setEncoding('utf8');
  reportPipe?.on('data', (chunk: string) => {
    reportText += chunk;
    // The forked function joins the call's cgroup too (the launcher itself was adopted below).
    const pid = /^pid (\d+)\n/.exec(reportText)?.[1];
    if (pid && !adoptedFunction) {
      adoptedFunction = true;
      tree.adopt(Number(pid));
    }
  });
  reportPipe?.on('error', () => undefined);
  const cutPipes = (): void => {
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.destroy();
    reportPipe?.destroy();
  };
  const stop = (why: StopReason): void => {
    stopped ??= why;
    killGroup(pgid);
    void tree.hunt();
    if (why === 'shutting-down') cutPipes();
  };
  child.once('spawn', () => {
    hostStartUs = clock.nowUs();
  });
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  // A function that exits without reading its input closes the pipe under us: not an error.
  child.stdin.on('error', () => undefined);
  if (pgid !== undefined) tree.adopt(pgid);
  child.once('exit', () => {
    endedUs = clock.nowUs();
    // Whatever the function left running is part of it: end it so its stdio closes.
    killGroup(pgid);
    tree.kill();
    // What left the group is found by the marker (every call: the scan reads only the pids handed
    // out since this call's), off the reply's path; the server is settled once it is done.
    ctx.hunting(1);
    void tree.hunt().finally(() => ctx.hunting(-1));
    // Still open a moment later: a process outside the group and cgroup holds them (setsid + a
    // fork before the move into the cgroup, or no cgroup here). Hunt it, and stop waiting.
    grace = setTimeout(() => {
      void tree.hunt().finally(cutPipes);
    }, PIPE_GRACE_MS);
  });
  const settle = (): void => {
    clearTimeout(timer);
    clearTimeout(grace);
    void tree.release();
  };
  const outcome = new Promise<RawRun>((resolve, reject) => {
    child.once('error', (error) => {
      settle();
      reject(new RuntimeError('failed', `cannot start the native executable: ${error.message}`, 'spawn-failed'));
    });
    child.once('close', (launcherCode, launcherSignal) => {
      settle();
      if (stopped === 'timeout') {
        reject(new RuntimeError('timeout', `the function ran longer than ${timeoutMs} ms and was killed (--timeout-ms)`));
        return;
      }
      if (stopped === 'cancelled') return reject(cancelled('native'));
      if (stopped === 'shutting-down') return reject(new RuntimeError('shutting-down', 'the server is shutting down'));
      const report = parseReport(reportText);
      if (report.execErrno !== undefined) {
        reject(new RuntimeError('failed', `cannot start the native executable: ${errnoName(report.execErrno)}`, 'spawn-failed'));
        return;
      }
      // The function's own ending as the launcher saw it; the launcher's when it reported none.
      const code = report.exitCode ?? (report.signal === undefined ? launcherCode : null);
      const signal = report.signal !== undefined ? (signalName(report.signal) ?? null) : report.exitCode === undefined ? launcherSignal : null;
      const run: RawRun = {
        readyUs,
        // A prepared process was spawned before the call: its start here is the input reaching it.
        hostStartUs: Math.max(hostStartUs || readyUs, readyUs),
        endedUs: endedUs || clock.nowUs(),
        exitCode: signal ? signalExitCode(signal) : code,
        stdout: stdout.concat(),
        stderr: stderr.concat(),
      };
      if (prepared) run.prepared = true;
      if (signal) run.error = `terminated by ${signal}`;
      if ((signal || code !== 0) && report.peakBytes !== undefined && atMemoryCap(report.peakBytes, maxMemoryMb)) {
        run.error = memoryCapReached(maxMemoryMb, run.error ?? `exited with code ${code}`);
      }
      if (stdout.dropped + stderr.dropped > 0) run.truncated = true;
      resolve(run);
    });
  });
  // A prepared process discarded before any call is never awaited.
  outcome.catch(() => undefined);
  return {
    outcome,
    stop,
    go(input, ahead) {
      prepared = ahead;
      if (ahead) readyUs = clock.nowUs();
      timer = setTimeout(() => stop('timeout'), timeoutMs);
      child.stdin.end(input);
      return outcome;
    },
  };
}
