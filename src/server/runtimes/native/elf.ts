/**
 * Validation of native executables before they enter the store (docs/runtimes.md: a deploy validates
 * the artifact before it replaces anything).
 */
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

/** Checks that `bytes` is a 64-bit little-endian static ELF executable for `arch` (process.arch). */
export function validateElf(bytes: Buffer, arch: string): void {
  checkElfHeader(bytes, arch);
  const phoff = Number(bytes.readBigUInt64LE(32));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  if (phoff + phentsize * phnum > bytes.length) throw invalidArtifact('ELF program headers lie past the end of the file');
  for (let i = 0; i < phnum; i++) {
    if (bytes.readUInt32LE(phoff + i * phentsize) === PT_INTERP) {
      throw invalidArtifact(
        'ELF executable is dynamically linked; link it statically (gcc -static) so it also runs in a FROM scratch container',
      );
    }
  }
}
