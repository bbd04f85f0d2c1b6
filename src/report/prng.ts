/**
 * A small seeded PRNG so bootstrap intervals (and fixtures) are reproducible: the same run directory
 * and seed always give the same report. Math.random cannot be seeded.
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean, period ≥ 2^32) seeded
 * through splitmix32 so that nearby seeds (1, 2, 3…) give unrelated streams. A class rather than a
 * closure so the bootstrap's inner loops can call `nextU32()` on monomorphic fields, which V8 inlines
 * (a closure's captured state lives in a context object it cannot keep in registers).
 */
export class Sfc32 {
  /**
   * a, b, c, d as int32 bits. In a typed array, not in fields: values ≥ 2³⁰ are not small integers to
   * V8, so fields would hold boxed doubles and every step would allocate (10× slower in the bootstrap).
   */
  readonly #s = new Int32Array(4);

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (let i = 0; i < 4; i++) this.#s[i] = splitmix();
    // Discard the first outputs: sfc32's state needs a few rounds to mix.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** The next output, an unsigned 32-bit integer (arithmetic mod 2³² on int32 bits, `>>> 0` at the end). */
  nextU32(): number {
    const st = this.#s;
    const a = st[0] as number;
    const b = st[1] as number;
    const c = st[2] as number;
    const d = st[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    st[3] = (d + 1) | 0;
    st[0] = b ^ (b >>> 9);
    st[1] = (c + (c << 3)) | 0;
    st[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /**
   * A uniform index in [0, n): ⌊u/2³² · n⌋, exactly what `Math.floor(createRng(seed)() * n)` gives for
   * the same stream position (the product is exact in a double for n < 2²¹).
   */
  index(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }
}

/** A seeded uniform generator of floats in [0, 1) (sfc32, see Sfc32). */
export function createRng(seed: number): Rng {
  const g = new Sfc32(seed);
  return () => g.nextU32() / 4294967296;
}

/** A standard normal deviate from `rng` (Box–Muller; one of the pair is discarded for simplicity). */
export function normal(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
