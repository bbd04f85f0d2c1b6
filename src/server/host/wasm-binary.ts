/**
 * Memory and table caps for core wasm modules, shared by every runtime that instantiates wasm in
 * process (`wasm`'s preview1 modules, `component`'s core modules). The module's memory and table
 * limits are rewritten so no instance can grow past the caps: a hog then fails to allocate instead
 * of eating the machine (uncapped, a module may grow its memory to 4 GiB and its tables without
 * bound). docs/runtimes.md, "Limits".
 */
import { invalidArtifact } from './errors.js';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
const IMPORT_MEMORY = 2;
/**
 * Entries all tables of one module may hold together (declared maxima and table.grow included).
 * Tables live on the worker's V8 heap, not in the capped linear memory: uncapped, 200 tables grown
 * by 10M entries each took a worker from 4.5 to 7.5 GB. A C module has one table of a few hundred
 * entries; 1M funcref entries is ~8 MiB, well inside a worker's heap (src/server/host/worker-pool.ts).
 */
export const MAX_TABLE_ENTRIES = 1_000_000;
const PAGES_PER_MIB = 16; // 64 KiB pages

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }
  u8(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw invalidArtifact('wasm module is truncated');
    return b;
  }
  leb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw invalidArtifact('wasm module has a malformed LEB128 number');
  }
  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.bytes.length) throw invalidArtifact('wasm module is truncated');
  }
}

/** Unsigned LEB128 encoding of `value`. */
export function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/** Reads one memory limits record and returns its re-encoded form with max ≤ capPages. */
function capMemoryLimits(r: Reader, capPages: number): Uint8Array {
  const flags = r.u8();
  if (flags & 0x04) throw invalidArtifact('wasm module uses 64-bit memory (memory64), which nebula does not run');
  const min = r.leb();
  const max = flags & 0x01 ? r.leb() : Infinity;
  if (min > capPages) {
    throw invalidArtifact(
      `wasm module needs ${min / PAGES_PER_MIB} MiB of memory at start, above the cap of ${capPages / PAGES_PER_MIB} MiB (--max-memory-mb)`,
    );
  }
  return Uint8Array.from([flags | 0x01, ...leb(min), ...leb(Math.min(max, capPages))]);
}

/** Skips the description of a non-memory import of `kind`. */
function skipImport(c: Reader, kind: number): void {
  if (kind === 0) c.leb();
  else if (kind === 1) {
    c.u8();
    const flags = c.u8();
    c.leb();
    if (flags & 1) c.leb();
  } else if (kind === 3) c.skip(2);
  else if (kind === 4) {
    c.u8();
    c.leb();
  } else throw invalidArtifact(`wasm module has an import of unknown kind ${kind}`);
}

/** Throws 422 unless `head` (the first 8 bytes at least) starts like a wasm binary. */
export function checkWasmHeader(head: Uint8Array): void {
  if (head.length < 8 || WASM_MAGIC.some((b, i) => head[i] !== b)) {
    throw invalidArtifact('not a wasm module (missing the \\0asm header)');
  }
}

export interface Caps {
  /** Memory cap, MiB: every memory (defined or imported) gets max ≤ this. */
  memoryMb?: number;
  /**
   * Entries all defined tables may hold together: each of N tables gets max ≤ tableEntries / N
   * (table.grow past it fails, returning -1, as the spec has it); a table that starts above its
   * share is refused.
   */
  tableEntries?: number;
}

/** Rewrites one section's contents under `caps`; returns its new contents as pieces. */
function capSection(id: number, c: Reader, end: number, caps: Caps): Uint8Array[] {
  // Pieces, not one number[]: spreading a 200,000-byte import name into push() overflowed the
  // stack ("Maximum call stack size exceeded" → 500); subarrays copy nothing until the concat.
  const out: Uint8Array[] = [];
  const count = c.leb();
  out.push(Uint8Array.from(leb(count)));
  const capPages = Math.max(1, Math.floor((caps.memoryMb ?? 0) * PAGES_PER_MIB));
  const share = Math.floor((caps.tableEntries ?? 0) / Math.max(1, count));
  for (let i = 0; i < count; i++) {
    if (id === SECTION_MEMORY) {
      out.push(capMemoryLimits(c, capPages));
    } else if (id === SECTION_TABLE) {
      const refType = c.u8();
      const flags = c.u8();
      const min = c.leb();
      const max = flags & 0x01 ? c.leb() : Infinity;
      if (min > share) {
        throw invalidArtifact(
          `wasm module declares ${count} table(s), table ${i} with ${min} entries at start; together they may hold at most ${caps.tableEntries} entries`,
        );
      }
      out.push(Uint8Array.from([refType, flags | 0x01, ...leb(min), ...leb(Math.min(max, share))]));
    } else {
      const entryStart = c.pos;
      c.skip(c.leb()); // module name
      c.skip(c.leb()); // field name
      const kind = c.u8();
      if (kind === IMPORT_MEMORY) {
        out.push(c.bytes.subarray(entryStart, c.pos), capMemoryLimits(c, capPages));
        continue;
      }
      skipImport(c, kind);
      out.push(c.bytes.subarray(entryStart, c.pos));
    }
  }
  if (c.pos !== end) throw invalidArtifact(`wasm section ${id} has trailing bytes`);
  return out;
}

/** Returns a copy of the module bytes with its memories and tables capped as `caps` says. */
export function capModule(bytes: Uint8Array, caps: Caps): Uint8Array {
  checkWasmHeader(bytes);
  const rewrite = new Set<number>();
  if (caps.memoryMb !== undefined) rewrite.add(SECTION_IMPORT).add(SECTION_MEMORY);
  if (caps.tableEntries !== undefined) rewrite.add(SECTION_TABLE);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const sectionStart = r.pos;
    const id = r.u8();
    const size = r.leb();
    const contentStart = r.pos;
    r.skip(size);
    if (!rewrite.has(id)) {
      parts.push(bytes.subarray(sectionStart, r.pos));
      continue;
    }
    const end = contentStart + size;
    const out = capSection(id, new Reader(bytes.subarray(0, end), contentStart), end, caps);
    const length = out.reduce((sum, piece) => sum + piece.length, 0);
    parts.push(Uint8Array.from([id, ...leb(length)]), ...out);
  }
  return Buffer.concat(parts);
}

/** capModule with a memory cap only. */
export function capMemory(bytes: Uint8Array, capMb: number): Uint8Array {
  return capModule(bytes, { memoryMb: capMb });
}

/** capModule with a table budget only. */
export function capTables(bytes: Uint8Array, maxEntries = MAX_TABLE_ENTRIES): Uint8Array {
  return capModule(bytes, { tableEntries: maxEntries });
}

/** Throws 422 naming why, unless `bytes` is a valid core module. */
export async function validateModule(bytes: Uint8Array, what?: string): Promise<void> {
  if (WebAssembly.validate(bytes)) return;
  let reason = 'invalid module';
  try {
    await WebAssembly.compile(bytes);
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  throw invalidArtifact(`${what ? `${what}: ` : ''}WebAssembly.validate failed: ${reason}`);
}
