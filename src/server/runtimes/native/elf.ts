/**
 * Validation of native executables before they enter the store (docs/runtimes.md: a deploy validates
 * the artifact before it replaces anything).
 */
import { open } from 'node:fs/promises';
import { invalidArtifact } from '../../host/errors.js';

/** ELF e_machine values for the architectures nebula serves. */
export const ELF_MACHINE: Record<string, { machine: number; arch: string }> = {
  x64: { machine: 62, arch: 'x64' }, // EM_X86_64
  arm64: { machine: 183, arch: 'arm64' }, // EM_AARCH64
};
const MACHINE_NAMES: Record<number, string> = { 3: 'x86 (32-bit)', 40: 'arm (32-bit)', 62: 'x64', 183: 'arm64' };
const PT_INTERP = 3;

/** Bytes of an ELF64 file header: what checkElfHeader needs. */
export const ELF_HEADER_BYTES = 64;

/** Throws 422 unless `bytes` starts with a 64-bit little-endian ELF executable header for `arch`. */
export function checkElfHeader(bytes: Buffer, arch: string): void {
  const expected = ELF_MACHINE[arch];
  if (!expected) throw invalidArtifact(`native executables are not supported on a ${arch} server`);
  if (bytes.length < ELF_HEADER_BYTES || bytes.readUInt32BE(0) !== 0x7f454c46) {
    throw invalidArtifact('not an ELF executable (missing the \\x7fELF header); build it with gcc -static');
  }
  if (bytes[4] !== 2 || bytes[5] !== 1) throw invalidArtifact('only 64-bit little-endian ELF executables are supported');
  const type = bytes.readUInt16LE(16);
  if (type !== 2 && type !== 3) throw invalidArtifact(`ELF type ${type} is not an executable`);
  const machine = bytes.readUInt16LE(18);
  if (machine !== expected.machine) {
    const got = MACHINE_NAMES[machine] ?? `machine ${machine}`;
    throw invalidArtifact(
      `ELF executable is for ${got} but this server is ${arch}; build it for ${arch}` +
        (arch === 'arm64' ? ' (aarch64-linux-gnu-gcc -static, or nebula build --arch arm64)' : ' (gcc -static)'),
    );
  }
}

/** The program header table's place, from a checked ELF64 header. */
function programHeaders(header: Buffer): { offset: number; entrySize: number; count: number; bytes: number } {
  const offset = Number(header.readBigUInt64LE(32));
  const entrySize = header.readUInt16LE(54);
  const count = header.readUInt16LE(56);
  // Real executables have a dozen 56-byte entries; a table above 1 MiB is not worth reading.
  if (entrySize * count > MAX_PROGRAM_HEADER_BYTES) throw invalidArtifact(`ELF program header table of ${entrySize * count} bytes is implausibly large`);
  return { offset, entrySize, count, bytes: entrySize * count };
}

const MAX_PROGRAM_HEADER_BYTES = 1024 * 1024;

/** Throws 422 when the program header table (read from the file) asks for an interpreter: a dynamic executable. */
function checkStatic(table: Buffer, entrySize: number, count: number): void {
  for (let i = 0; i < count; i++) {
    if (table.readUInt32LE(i * entrySize) === PT_INTERP) {
      throw invalidArtifact(
        'ELF executable is dynamically linked; link it statically (gcc -static) so it also runs in a FROM scratch container',
      );
    }
  }
}

/** Checks that `bytes` is a 64-bit little-endian static ELF executable for `arch` (process.arch). */
export function validateElf(bytes: Buffer, arch: string): void {
  checkElfHeader(bytes, arch);
  const table = programHeaders(bytes);
  if (table.offset + table.bytes > bytes.length) throw invalidArtifact('ELF program headers lie past the end of the file');
  checkStatic(bytes.subarray(table.offset, table.offset + table.bytes), table.entrySize, table.count);
}

/** validateElf for a file of `size` bytes, reading only its header and program header table. */
export async function validateElfFile(path: string, size: number, arch: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(Math.min(size, ELF_HEADER_BYTES));
    await file.read(header, 0, header.length, 0);
    checkElfHeader(header, arch);
    const table = programHeaders(header);
    if (table.offset + table.bytes > size) throw invalidArtifact('ELF program headers lie past the end of the file');
    const bytes = Buffer.alloc(table.bytes);
    await file.read(bytes, 0, bytes.length, table.offset);
    checkStatic(bytes, table.entrySize, table.count);
  } finally {
    await file.close();
  }
}
