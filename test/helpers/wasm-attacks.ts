/**
 * Hand-assembled WASI command modules that attack the wasm runtime's limits (no toolchain can emit
 * them from C: several tables, table.grow).
 */
import { leb } from '../../src/server/host/wasm-binary.js';

/** Signed LEB128 of a small i32. */
function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function name(text: string): number[] {
  return [...leb(text.length), ...Buffer.from(text)];
}

/**
 * `tables` funcref tables without a maximum; `_start` grows each by `grow` entries and exits
 * (proc_exit) with the number of grows that succeeded — 0 when the runtime caps tables.
 */
export function tableBomb(tables: number, grow: number): Uint8Array {
  const body: number[] = [0x01, 0x01, 0x7f]; // one local i32: successful grows
  for (let t = 0; t < tables; t++) {
    body.push(0xd0, 0x70); // ref.null func
    body.push(0x41, ...sleb(grow)); // i32.const grow
    body.push(0xfc, 0x0f, ...leb(t)); // table.grow t
    body.push(0x41, ...sleb(-1), 0x47); // i32.const -1; i32.ne
    body.push(0x20, 0x00, 0x6a, 0x21, 0x00); // local.get 0; i32.add; local.set 0
  }
  body.push(0x20, 0x00, 0x10, 0x00, 0x0b); // local.get 0; call proc_exit; end
  const tableEntries: number[] = [];
  for (let t = 0; t < tables; t++) tableEntries.push(0x70, 0x00, 0x00);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00]), // types: () -> (), (i32) -> ()
    ...section(2, [0x01, ...name('wasi_snapshot_preview1'), ...name('proc_exit'), 0x00, 0x01]),
    ...section(3, [0x01, 0x00]), // _start: type 0
    ...section(4, [...leb(tables), ...tableEntries]),
    ...section(5, [0x01, 0x00, 0x01]), // memory: 1 page
    ...section(7, [0x02, ...name('memory'), 0x02, 0x00, ...name('_start'), 0x00, 0x01]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}
