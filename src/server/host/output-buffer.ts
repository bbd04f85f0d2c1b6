/** Captured stdout/stderr of one invocation, shared by every runtime. */

/** Output collected for one stream, with a byte cap (beyond it, bytes are counted but dropped). */
export class OutputBuffer {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  dropped = 0;
  constructor(readonly cap: number) {}
  push(bytes: Uint8Array): void {
    const room = this.cap - this.length;
    if (room <= 0) {
      this.dropped += bytes.length;
      return;
    }
    const take = bytes.length <= room ? bytes : bytes.subarray(0, room);
    this.chunks.push(take.slice());
    this.length += take.length;
    this.dropped += bytes.length - take.length;
  }
  concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
