/** What an artifact file is, from its first bytes, and which function name it stands for. */
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ArtifactKind } from '../client/target.js';
import { UsageError } from '../errors.js';
import { FUNCTION_NAME } from '../protocol/api.js';

/** ELF e_machine values of the architectures Nebula builds for. */
const ELF_ARCH: Record<number, string> = { 62: 'x64', 183: 'arm64' };

/**
 * Kind of an artifact by its magic: `\0asm` with version 1 → wasm (a core module), with version 0x0d
 * layer 1 → component (WASI 0.2), `\x7fELF` → native, ustar tar → docker (docker save).
 */
export function detectKind(bytes: Buffer): ArtifactKind | undefined {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x0061736d) return bytes.readUInt32LE(4) === 0x0001000d ? 'component' : 'wasm';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x0061736d) return 'wasm';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x7f454c46) return 'native';
  if (bytes.length >= 263 && bytes.subarray(257, 262).toString('latin1') === 'ustar') return 'docker';
  return undefined;
}

/** The architecture of an ELF executable (x64, arm64), or its raw e_machine number for others. */
export function elfArch(bytes: Buffer): string {
  const machine = bytes.length >= 20 ? bytes.readUInt16LE(18) : -1;
  return ELF_ARCH[machine] ?? `e_machine ${machine}`;
}

/**
 * Reads an artifact file's kind and returns its bytes ready to upload; a gzip-compressed
 * `docker save` archive is decompressed here, as the server takes plain tar.
 */
export function classifyArtifact(file: string, bytes: Buffer): { kind: ArtifactKind; body: Buffer } {
  let body = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      body = gunzipSync(bytes);
    } catch (error) {
      throw new UsageError(`${file} looks gzip-compressed but does not decompress: ${(error as Error).message}`, { cause: error });
    }
  }
  const kind = detectKind(body);
  if (kind === undefined || (kind !== 'docker' && body !== bytes)) {
    throw new UsageError(`${file} is not an artifact Nebula can deploy`, {
      hint: 'Pass a WebAssembly module or component (.wasm, starts with \\0asm), a static ELF executable, or an image archive from `docker save IMAGE -o image.tar`.',
    });
  }
  return { kind, body };
}

/**
 * The function name a file stands for: its base name without .wasm/.tar/.tar.gz/.tgz and without the
 * -x64/-arm64 suffix `nebula build` gives native executables. Names the --name flag when it is not valid.
 */
export function nameFromFile(file: string, kind: ArtifactKind): string {
  let name = path.basename(file).replace(/(\.component)?\.(wasm)$|\.(tar\.gz|tgz|tar)$/i, '');
  if (kind === 'native') name = name.replace(/-(x64|arm64|amd64|aarch64)$/, '');
  if (!FUNCTION_NAME.test(name)) {
    throw new UsageError(`cannot take a function name from the file name "${path.basename(file)}" ("${name}" is not valid)`, {
      hint: 'Pass --name NAME (lowercase letters, digits and dashes, e.g. --name my-function).',
    });
  }
  return name;
}
