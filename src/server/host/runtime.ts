/**
 * The one interface every runtime implements (docs/runtimes.md). The HTTP app and the store talk to
 * runtimes only through it; a runtime imports host pieces from src/server/host/, never another runtime.
 */
import type { ClockAnchor } from '../../clock.js';
import type { ArtifactKind, Runtime as RuntimeName, StartMode } from '../../protocol/api.js';
import type { Clock } from './clock.js';

/** What a runtime hands back for one invocation, before stamping (src/server/result.ts). */
export interface RawRun {
  /** The runtime is ready to start the function (see docs/api.md for each runtime's moment). */
  readyUs: number;
  /** Host-side estimate of when the function's code began, used when it printed no nebula-start line. */
  hostStartUs: number;
  /** The function finished (returned / exited), as the host observed it. */
  endedUs: number;
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /**
   * The run used an instance prepared ahead (`prewarmed` mode). A prepared native process ran its
   * harness' first line before the request; its `nebula-start` stamp is then not this call's start.
   */
  prepared?: boolean;
  /** Why the run failed (trap, signal, memory cap), when it did. */
  error?: string;
  /** Output beyond the cap was dropped (OutputBuffer.dropped > 0 on either stream). */
  truncated?: boolean;
}

/** Limits every runtime applies to one invocation (server flags; docs/runtimes.md says how each enforces them). */
export interface Limits {
  /** Wall-clock budget; past it the function is stopped and the call fails as `timeout`. */
  timeoutMs: number;
  /** Cap per captured stream (stdout, stderr); the rest is dropped and the result says `truncated`. */
  maxOutputBytes: number;
  /** Memory cap of one instance / process / container, MiB. */
  maxMemoryMb: number;
}

/**
 * A runtime's record of a stored artifact, kept in the function's meta.json under the runtime's name.
 * Runtimes add their own fields (JSON values).
 */
export interface ArtifactMeta {
  /** sha256 of the uploaded bytes; for a derived artifact, of the source it was built from. */
  readonly sha256: string;
  /**
   * The artifact kind this one was built from (e.g. docker's image from the `native` upload), or
   * anything else for an artifact uploaded as itself. A derived artifact whose source's sha256 no
   * longer matches is stale and dropped by the store.
   */
  readonly source?: string;
}

/** Every runtime's artifact of one function, by runtime name, as stored in meta.json. */
export type FunctionMeta = Partial<Record<RuntimeName, ArtifactMeta>>;

/** A deployed function as the store holds it. */
export interface StoredFunction {
  readonly name: string;
  /** The function's folder in the store; runtimes keep their files there. */
  readonly dir: string;
  meta: FunctionMeta;
}

/** One invocation as the app hands it to a runtime. */
export interface Invocation {
  fn: StoredFunction;
  input: Buffer;
  limits: Limits;
  /** Aborted when the client went away; runtimes may stop the run (optional to honour). */
  signal?: AbortSignal | undefined;
  /**
   * `prewarmed`: run in the instance prepared for this function when there is one, and prepare the
   * next one afterwards (docs/runtimes.md, "Start modes"); default `cold`.
   */
  mode?: StartMode;
}

/**
 * An uploaded artifact as received: streamed into a file in the store's own `.tmp` (so moving it into
 * place is an atomic rename on one filesystem), hashed on the way, never whole in memory. The file
 * is removed after the deploy unless a runtime stored it (docs/reliability.md, "Uploads").
 */
export interface Upload {
  /** The received file; readable until the store moves it into place. */
  readonly path: string;
  readonly size: number;
  /** sha256 of the bytes, hex. */
  readonly sha256: string;
  /** The whole file in memory: for runtimes that need the bytes (compiling a module). */
  read(): Promise<Buffer>;
  /** The file as a stream (loading an image archive into an engine). */
  stream(): NodeJS.ReadableStream;
}

/** A file for the function's folder: bytes to write, or an Upload's file to move into place. */
export type StagedFile = { name: string; mode?: number } & ({ bytes: Uint8Array } | { upload: Upload });

/** A validated artifact, not yet stored: the store writes `files` and meta.json, then calls `commit`. */
export interface Staged<M extends ArtifactMeta> {
  meta: M;
  /** Files for the function's folder, each written atomically before meta.json. */
  files?: readonly StagedFile[];
  /** Installs in-memory state (a compiled module) once the store holds the artifact in `fn.dir`. */
  commit?(fn: StoredFunction): void;
}

/** What loading a stored artifact at start-up found: the meta to keep (corrected) and why it changed. */
export interface Loaded<M extends ArtifactMeta> {
  meta: M;
  warning?: string;
}

export interface RuntimeHealth {
  available: boolean;
  /** Why not, naming what to do (shown in /healthz `unavailable`). */
  reason?: string;
}

/** Context a runtime is built with: the server's clock, limits and knobs (src/server/index.ts). */
export interface HostContext {
  clock: Clock;
  /** The clock anchor for worker threads; re-anchoring reaches runtimes through `setAnchor`. */
  anchor: ClockAnchor;
  limits: Limits;
  /** Worker threads of an in-process runtime (--workers). */
  workers: number;
  /** Concurrent child processes of a process runtime (--max-processes). */
  processSlots: number;
  /** Native calls each in a cgroup v2 (when the server may create one); else the marker scan alone. */
  cgroups: boolean;
  /** process.arch of the server. */
  arch: string;
  /** Background failures (clean-up) that must not be lost. */
  warn: (message: string) => void;
}

export interface Runtime<M extends ArtifactMeta = ArtifactMeta> {
  readonly name: RuntimeName;
  /** The artifact it runs: the PUT /functions/{name}/{kind} path segment. */
  readonly artifact: ArtifactKind;
  /** Invocations it runs at once; the app's admission control queues the rest (src/server/admission.ts). */
  readonly slots: number;
  /** Another kind this runtime builds its own artifact from on upload (docker: an image around `native`). */
  readonly derivesFrom?: ArtifactKind;
  /** Starts what the runtime needs (probes an engine); the server starts even when it stays unavailable. */
  start?(): Promise<void>;
  health(): RuntimeHealth;
  /** A check of an upload's first `bytes` bytes, run as they arrive (throws `invalid-artifact`). */
  uploadHead?(): { bytes: number; check: (head: Buffer) => void } | undefined;
  /** Validates an upload of `artifact`; throws RuntimeError `invalid-artifact` (or `unavailable`). */
  accept(name: string, bytes: Buffer): Promise<Staged<M>>;
  /**
   * `accept` from the received file, for runtimes that need not hold the whole artifact in memory
   * (native, docker); the store calls it instead of `accept` when present.
   */
  acceptUpload?(name: string, upload: Upload): Promise<Staged<M>>;
  /**
   * Builds this runtime's artifact from an upload of `derivesFrom` (validated by its own runtime);
   * undefined when it cannot now (engine down), and an earlier derived artifact is then dropped.
   */
  derive?(name: string, upload: Upload, source: ArtifactMeta): Promise<Staged<M> | undefined>;
  /** Loads a stored artifact at start-up (compiling, checking its file); throws to skip the function. */
  load(fn: StoredFunction, meta: M): Promise<Loaded<M>>;
  /** Drops what the runtime holds for an artifact that was replaced or deleted (caches, images). */
  forget(name: string, meta: M): void;
  /** The artifact as GET /functions shows it. */
  describe(meta: M): Record<string, unknown>;
  /** Runs the function once; throws RuntimeError for not-deployed / unavailable / busy / timeout. */
  invoke(call: Invocation): Promise<RawRun>;
  /**
   * Prepares a fresh instance of `fn` ahead of a `prewarmed` call, unless one is prepared already;
   * resolves true when one is ready. It never waits for a slot: with none free it prepares nothing.
   */
  prepare(fn: StoredFunction): Promise<boolean>;
  /** Background work still running (e.g. containers being removed): the server is settled at 0. */
  backgroundWork?(): number;
  /** Once settled, before a measured call: wakes what sleeps between calls (worker threads), so it does not start the call late. */
  wake?(): Promise<void>;
  /** The clock was re-anchored: tell worker threads. */
  setAnchor?(anchor: ClockAnchor): void;
  /** Stops everything it runs; no guest outlives the server. */
  close(): Promise<void>;
}

/** The artifact of `fn` for runtime `name`, typed for that runtime. */
export function artifactOf<M extends ArtifactMeta>(fn: StoredFunction, name: RuntimeName): M | undefined {
  return fn.meta[name] as M | undefined;
}
