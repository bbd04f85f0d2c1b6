/**
 * `nebula deploy` as a library: uploads what `nebula build` made (the .wasm and the native executable
 * for the target's architecture) or artifact files given by path, through TargetClient.putArtifact.
 * Everything is read and checked locally before the first upload, so a missing build fails fast
 * instead of leaving a half-deployed set.
 */
import { readFile } from 'node:fs/promises';
import { artifactPaths, functionName, isDirectory } from '../build/functions.js';
import type { ArtifactKind, TargetClient } from '../client/target.js';
import { TargetError, UsageError } from '../errors.js';
import { ArchSchema, type FunctionInfo, type Health } from '../protocol/api.js';
import { classifyArtifact, elfArch, nameFromFile } from './artifacts.js';

export { classifyArtifact, detectKind, elfArch, nameFromFile } from './artifacts.js';

export interface DeployOptions {
  /** Also upload each function directory's native executable (default true; the server builds the docker image from it). */
  native?: boolean;
  /** Also upload each function directory's WASI 0.2 component (default true). */
  component?: boolean;
  /** Function name for artifact files, or for a single function directory. */
  name?: string;
  onProgress?: (event: DeployEvent) => void;
}

export type DeployEvent =
  | { type: 'upload'; name: string; kind: ArtifactKind; path: string; bytes: number }
  | { type: 'deployed'; name: string; kind: ArtifactKind; path: string; bytes: number; ms: number };

export interface DeployedArtifact {
  kind: ArtifactKind;
  path: string;
  bytes: number;
}

export interface DeployedFunction {
  name: string;
  artifacts: DeployedArtifact[];
  /** The server's view of the function after the last upload. */
  info: FunctionInfo;
}

export interface DeployReport {
  target: string;
  /** The target's architecture, from /healthz. */
  arch: string;
  functions: DeployedFunction[];
  /** Why an artifact was not uploaded (e.g. the target runs no native executables). */
  notes: string[];
}

interface Upload {
  name: string;
  kind: ArtifactKind;
  path: string;
  body: Buffer;
}

/** Upload order: the wasm module first, then the rest (a native upload also builds the docker image). */
const KIND_ORDER: Record<ArtifactKind, number> = { wasm: 0, component: 1, native: 2, docker: 3 };

/**
 * Deploys function directories (their .wasm and build/<name>-<arch>) and artifact files (kind by
 * magic, name from options.name or the file name) to the target behind client.
 */
export async function deployFunctions(client: TargetClient, paths: string[], options: DeployOptions = {}): Promise<DeployReport> {
  if (paths.length === 0) throw new UsageError('nothing to deploy', { hint: 'Pass function directories or artifact files.' });
  const health = await client.health();
  const notes: string[] = [];
  const uploads: Upload[] = [];
  const dirs: string[] = [];
  for (const p of paths) if (await isDirectory(p)) dirs.push(p);
  if (options.name !== undefined && dirs.length > 1) {
    throw new UsageError(`--name ${options.name} cannot name ${dirs.length} function directories at once`, {
      hint: 'Deploy the directories one at a time, or leave out --name (each directory is named after its folder).',
    });
  }
  for (const p of paths) {
    if (dirs.includes(p)) uploads.push(...(await planDirectory(p, health, options, notes)));
    else uploads.push(await planFile(p, health, options.name));
  }
  // Functions in the order given; within one, wasm before native before docker.
  const firstSeen = new Map<string, number>();
  for (const upload of uploads) if (!firstSeen.has(upload.name)) firstSeen.set(upload.name, firstSeen.size);
  uploads.sort((a, b) => (firstSeen.get(a.name) ?? 0) - (firstSeen.get(b.name) ?? 0) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);

  const deployed = new Map<string, DeployedFunction>();
  for (const upload of uploads) {
    const artifact = { kind: upload.kind, path: upload.path, bytes: upload.body.length };
    options.onProgress?.({ type: 'upload', name: upload.name, ...artifact });
    const t0 = performance.now();
    let info: FunctionInfo;
    try {
      info = await client.putArtifact(upload.name, upload.kind, upload.body);
    } catch (error) {
      throw rejected(upload, error);
    }
    options.onProgress?.({ type: 'deployed', name: upload.name, ...artifact, ms: performance.now() - t0 });
    const entry = deployed.get(upload.name) ?? { name: upload.name, artifacts: [], info };
    entry.artifacts.push(artifact);
    entry.info = info;
    deployed.set(upload.name, entry);
  }
  return { target: client.url.origin, arch: health.arch, functions: [...deployed.values()], notes };
}

/** A function directory's uploads: the .wasm, and the native executable for the target's architecture. */
async function planDirectory(dir: string, health: Health, options: DeployOptions, notes: string[]): Promise<Upload[]> {
  const name = options.name ?? functionName(dir);
  const wantNative = options.native ?? true;
  const arch = ArchSchema.safeParse(health.arch);
  const paths = artifactPaths(dir, arch.success ? arch.data : 'x64');
  const uploads: Upload[] = [];
  const wasm = await readIfExists(paths.wasm);
  if (wasm === undefined) {
    throw new UsageError(`${dir} has no WebAssembly module (${paths.wasm})`, {
      code: 'not-built',
      hint: `Build it first: nebula build ${dir}`,
    });
  }
  uploads.push({ name, kind: 'wasm', path: paths.wasm, body: wasm });
  if (options.component ?? true) await planComponent(name, paths.component, health, notes, uploads);
  if (!wantNative) return uploads;
  if (!arch.success || !health.runtimes.native) {
    notes.push(`${name}: native executable not uploaded: the target (${health.arch}) runs no native executables`);
    return uploads;
  }
  const native = await readIfExists(paths.native);
  if (native === undefined) {
    throw new UsageError(`${dir} has no native executable for the target's architecture ${arch.data} (${paths.native})`, {
      code: 'not-built',
      hint: `Build it with: nebula build --arch ${arch.data} ${dir}   (or deploy only the .wasm with --no-native)`,
    });
  }
  checkElfArch(paths.native, native, arch.data);
  uploads.push({ name, kind: 'native', path: paths.native, body: native });
  return uploads;
}

/** Adds a directory's component to `uploads` when the target runs components; notes why not otherwise. */
async function planComponent(name: string, file: string, health: Health, notes: string[], uploads: Upload[]): Promise<void> {
  if (!health.runtimes.component) {
    notes.push(`${name}: component not uploaded: the target runs no WASI 0.2 components (${health.unavailable?.component ?? 'older nebula serve'})`);
    return;
  }
  const component = await readIfExists(file);
  if (component === undefined) {
    notes.push(`${name}: no component (${file}); build one with nebula build (without --no-component)`);
    return;
  }
  uploads.push({ name, kind: 'component', path: file, body: component });
}

/** An artifact file's upload: kind by magic, name from --name or the file name. */
async function planFile(file: string, health: Health, name: string | undefined): Promise<Upload> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'Pass function directories (built with nebula build) or artifact files: .wasm, a static executable, a docker save archive.',
      cause: error,
    });
  }
  const { kind, body } = classifyArtifact(file, bytes);
  if (kind === 'native') checkElfArch(file, body, health.arch);
  return { name: name ?? nameFromFile(file, kind), kind, path: file, body };
}

function checkElfArch(file: string, bytes: Buffer, targetArch: string): void {
  const arch = elfArch(bytes);
  if (arch !== targetArch) {
    throw new UsageError(`${file} is an executable for ${arch}, but the target runs ${targetArch}`, {
      code: 'wrong-arch',
      hint: ArchSchema.safeParse(targetArch).success ? `Build for the target with: nebula build --arch ${targetArch}` : undefined,
    });
  }
}

/** Restates a refused upload with the file and function it was for; keeps the server's code and exit code. */
function rejected(upload: Upload, error: unknown): unknown {
  if (!(error instanceof TargetError) || error.status === undefined) return error;
  return new TargetError(`the target refused ${upload.path} as the ${upload.kind} artifact of ${upload.name}: ${error.message}`, {
    code: error.code,
    status: error.status,
    exitCode: error.exitCode,
    hint: error.hint,
    cause: error,
  });
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Lists the deployable artifacts of a report as lines for a terminal. */
export function describeReport(report: DeployReport): string[] {
  return report.functions.map((fn) => `${fn.name}: ${fn.artifacts.map((a) => a.kind).join(', ')}${fn.info.artifacts.docker ? ` (image ${fn.info.artifacts.docker.image})` : ''}`);
}
