/**
 * Messages between the server's native runtime (./spawner.ts) and its spawner process
 * (./spawner-process.ts), over Node's IPC channel with `advanced` serialization (Buffers and bigints
 * pass as they are). Calls are numbered by the server; one `done` answers every `launch`.
 */
import type { ClockAnchor } from '../../../clock.js';
import type { RuntimeFailure } from '../../host/errors.js';
import type { Limits, RawRun } from '../../host/runtime.js';
import type { StopReason } from './launch.js';
import type { CapMeans } from './launcher.js';

export type ToSpawner =
  | { type: 'init'; anchor: ClockAnchor; cgroups: boolean; cap: CapMeans }
  | { type: 'anchor'; anchor: ClockAnchor }
  /** Spawns the function; with `input` it goes at once (a cold call), without it waits for `go` (prepared). */
  | { type: 'launch'; id: number; path: string; limits: Limits; input?: Uint8Array }
  | { type: 'go'; id: number; input: Uint8Array }
  | { type: 'stop'; id: number; why: StopReason }
  /** Stops every call, kills every process any call left, answers `closed` and exits. */
  | { type: 'close' };

export type FromSpawner =
  | { type: 'ready'; containment: { mode: 'cgroup' | 'scan'; memoryCap: boolean }; treePrefix: string }
  | { type: 'done'; id: number; run?: RawRun; error?: { kind: RuntimeFailure; message: string; code: string } }
  /** After-exit hunts still running (the server is not settled meanwhile). */
  | { type: 'background'; n: number }
  | { type: 'closed' };
