/**
 * Independent reference answers for the four functions, computed in JS (BigInt where the C code uses
 * floating-point tricks), so the tests check the right number and not only that wasm and native agree.
 */

/** F(n) by iteration in BigInt. */
export function fibonacci(n: number): string {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

/** The nth prime from a sieve of Eratosthenes (0 for n = 0, as the function defines it). */
export function nthPrime(n: number): string {
  if (n === 0) return '0';
  const limit = Math.max(16, Math.ceil(n * (Math.log(n) + Math.log(Math.log(n + 2)) + 2)));
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    if (++count === n) return String(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  throw new Error(`sieve limit ${limit} too small for n = ${n}`);
}

/** n! as the C code computes it: the same IEEE double multiplications, in the same order. */
export function factorial(n: number): string {
  let r = 1;
  for (let i = 2; i <= n && r !== Infinity; i++) r *= i;
  return formatDouble(r);
}

const FRACTION_BITS = 2400n;

/** e with 2400 fractional bits: Σ 1/k! in fixed point (truncation error < 2^-2390). */
function eFixed(): bigint {
  const one = 1n << FRACTION_BITS;
  let sum = 0n;
  let term = one;
  for (let k = 1n; term > 0n; k++) {
    sum += term;
    term /= k;
  }
  return sum;
}

let eCache: bigint | undefined;

/** e^n correctly rounded to a double (round half to even), from a 2400-bit fixed-point power. */
export function exponential(n: number): string {
  eCache ??= eFixed();
  let v = 1n << FRACTION_BITS;
  for (let i = 0; i < n; i++) v = (v * eCache) >> FRACTION_BITS;
  const bits = v.toString(2).length;
  const exponent = bits - Number(FRACTION_BITS); // v / 2^2400 lies in [2^(exponent-1), 2^exponent)
  if (exponent > 1024) return 'inf';
  const shift = BigInt(bits - 53);
  let mantissa = v >> shift;
  const rest = v & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (mantissa & 1n) === 1n)) mantissa += 1n;
  return formatDouble(Number(mantissa) * 2 ** (bits - 53 - Number(FRACTION_BITS)));
}

/** The functions' double format: shortest round-trip digits, plain for 1e-4 ≤ |x| < 1e16, else d.ddde±XX. */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 ? '-' : '';
  const [mantissa = '', exp = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e >= -4 && e < 16) {
    if (e >= digits.length - 1) return sign + digits + '0'.repeat(e - digits.length + 1);
    if (e >= 0) return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  }
  const exponentText = String(Math.abs(e)).padStart(2, '0');
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${exponentText}`;
}
