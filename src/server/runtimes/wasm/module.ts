/**
 * Deploy-time checks and the memory and table caps for WASI preview1 modules: the module is validated,
 * its memory and table limits are rewritten so no instance can grow past the caps (a hog then fails to
 * allocate instead of eating the machine — uncapped, a module may grow its memory to 4 GiB and its
 * tables without bound), and it is compiled once.
 */
import { invalidArtifact } from '../../host/errors.js';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
/**
 * Entries all tables of one module may hold together (declared maxima and table.grow included).
 * Tables live on the worker's V8 heap, not in the capped linear memory: uncapped, 200 tables grown
 * by 10M entries each took a worker from 4.5 to 7.5 GB. A C module has one table of a few hundred
 * entries; 1M funcref entries is ~8 MiB, well inside a worker's heap (src/server/host/worker-pool.ts).
 */
export const MAX_TABLE_ENTRIES = 1_000_000;
const PAGES_PER_MIB = 16; // 64 KiB pages
export const WASI_MODULE = 'wasi_snapshot_preview1';

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

function leb(value: number): number[] {
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

/** Reads one limits record and returns its re-encoded form with max ≤ capPages. */
function capLimits(r: Reader, capPages: number): number[] {
  const flags = r.u8();
  if (flags & 0x04) throw invalidArtifact('wasm module uses 64-bit memory (memory64), which nebula does not run');
  const min = r.leb();
  const hasMax = (flags & 0x01) !== 0;
  const max = hasMax ? r.leb() : Infinity;
  if (min > capPages) {
    throw invalidArtifact(
      `wasm module needs ${min / PAGES_PER_MIB} MiB of memory at start, above the cap of ${capPages / PAGES_PER_MIB} MiB (--max-memory-mb)`,
    );
  }
  return [flags | 0x01, ...leb(min), ...leb(Math.min(max, capPages))];
}

/** Throws 422 unless `head` (the first 8 bytes at least) starts like a wasm module. */
export function checkWasmHeader(head: Uint8Array): void {
  if (head.length < 8 || WASM_MAGIC.some((b, i) => head[i] !== b)) {
    throw invalidArtifact('not a wasm module (missing the \\0asm header)');
  }
}

/** Returns a copy of the module bytes whose memories (defined or imported) have max ≤ capMb. */
export function capMemory(bytes: Uint8Array, capMb: number): Uint8Array {
  checkWasmHeader(bytes);
  const capPages = Math.max(1, Math.floor(capMb * PAGES_PER_MIB));
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const sectionStart = r.pos;
    const id = r.u8();
    const size = r.leb();
    const contentStart = r.pos;
    r.skip(size);
    if (id !== SECTION_IMPORT && id !== SECTION_MEMORY) {
      parts.push(bytes.subarray(sectionStart, r.pos));
      continue;
    }
    const c = new Reader(bytes.subarray(0, contentStart + size), contentStart);
    // Pieces, not one number[]: spreading a 200,000-byte import name into push() overflowed the
    // stack ("Maximum call stack size exceeded" → 500); subarrays copy nothing until the concat.
    const out: Uint8Array[] = [];
    const count = c.leb();
    out.push(Uint8Array.from(leb(count)));
    for (let i = 0; i < count; i++) {
      if (id === SECTION_MEMORY) {
        out.push(Uint8Array.from(capLimits(c, capPages)));
        continue;
      }
      const entryStart = c.pos;
      c.skip(c.leb()); // module name
      c.skip(c.leb()); // field name
      const kind = c.u8();
      if (kind === 2) {
        out.push(bytes.subarray(entryStart, c.pos), Uint8Array.from(capLimits(c, capPages)));
        continue;
      }
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
      out.push(bytes.subarray(entryStart, c.pos));
    }
    if (c.pos !== contentStart + size) throw invalidArtifact(`wasm section ${id} has trailing bytes`);
    const length = out.reduce((sum, piece) => sum + piece.length, 0);
    parts.push(Uint8Array.from([id, ...leb(length)]));
    for (const piece of out) parts.push(piece);
  }
  return Buffer.concat(parts);
}

/** A name from the module, shortened for a message (import names can be megabytes long). */
function clip(name: string): string {
  return name.length > 80 ? `${name.slice(0, 80)}… (${name.length} characters)` : name;
}

/**
 * Returns a copy of the module bytes whose tables together can never hold more than `maxEntries`:
 * each of its N tables gets max ≤ maxEntries / N (table.grow past it fails, returning -1, as the
 * spec has it). A table whose initial size is already above its share is refused.
 */
export function capTables(bytes: Uint8Array, maxEntries = MAX_TABLE_ENTRIES): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const sectionStart = r.pos;
    const id = r.u8();
    const size = r.leb();
    const contentStart = r.pos;
    r.skip(size);
    if (id !== SECTION_TABLE) {
      parts.push(bytes.subarray(sectionStart, r.pos));
      continue;
    }
    const c = new Reader(bytes.subarray(0, contentStart + size), contentStart);
    const count = c.leb();
    const share = Math.floor(maxEntries / Math.max(1, count));
    const out: number[] = [...leb(count)];
    for (let i = 0; i < count; i++) {
      const refType = c.u8();
      const flags = c.u8();
      const min = c.leb();
      const max = flags & 0x01 ? c.leb() : Infinity;
      if (min > share) {
        throw invalidArtifact(
          `wasm module declares ${count} table(s), table ${i} with ${min} entries at start; together they may hold at most ${maxEntries} entries`,
        );
      }
      out.push(refType, (flags & ~0x01) | 0x01, ...leb(min), ...leb(Math.min(max, share)));
    }
    if (c.pos !== contentStart + size) throw invalidArtifact(`wasm section ${id} has trailing bytes`);
    parts.push(Uint8Array.from([id, ...leb(out.length), ...out]));
  }
  return Buffer.concat(parts);
}

/**
 * Validates, caps and compiles a WASI preview1 command module; names what is wrong for a 422.
 * Compiling here (once per deploy or start-up) is the thesis' key fix: calls only instantiate.
 */
export async function prepareWasm(bytes: Uint8Array, capMb: number): Promise<WebAssembly.Module> {
  if (!WebAssembly.validate(bytes)) {
    let reason = 'invalid module';
    try {
      await WebAssembly.compile(bytes);
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    throw invalidArtifact(`WebAssembly.validate failed: ${reason}`);
  }
  const module = await WebAssembly.compile(capTables(capMemory(bytes, capMb)));
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw invalidArtifact('wasm module exports no _start function: build it as a WASI command (clang --target=wasm32-wasi)');
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw invalidArtifact('wasm module exports no memory: WASI preview1 needs an exported "memory"');
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== WASI_MODULE || imp.kind !== 'function') {
      throw invalidArtifact(
        `wasm module imports ${imp.kind} ${clip(imp.module)}.${clip(imp.name)}; only ${WASI_MODULE} functions are provided`,
      );
    }
  }
  return module;
}
