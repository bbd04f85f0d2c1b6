/*
 * exponential — e^n in IEEE-754 double precision, e^0 = 1; from 710 on e^n exceeds the largest
 * double and prints `inf`. Not libm's exp(): glibc and wasi-libc round it differently for some
 * inputs. Instead e^n is the product of n factors of e carried in double-double arithmetic
 * (a value is an unevaluated sum hi + lo, ~106 bits; Dekker/Knuth error-free transformations) and
 * rounded once at the end, so the result is the correctly rounded e^n on every build, and the work
 * grows with n (n multiplications), as the thesis' floating-point benchmark intends.
 * Built with -ffp-contract=off: a fused multiply-add (arm64 has one) would change the rounding.
 * Input 0..1000000000 (the loop stops once the value is past the double range).
 */
#include "nebula.h"

#define EXPONENTIAL_MAX 1000000000ULL

typedef struct {
  double hi, lo;
} dd;

/* e = E_HI + E_LO to ~2^-107 relative (E_HI is the double nearest to e). */
static const double E_HI = 2.718281828459045;
static const double E_LO = 1.4456468917292502e-16;
/* Scaling by powers of two is exact; keeping hi in [1, 2^64) keeps Dekker's split from overflowing. */
static const double TWO_64 = 18446744073709551616.0;
static const double TWO_M64 = 1.0 / 18446744073709551616.0;

static void split(double a, double *hi, double *lo) {
  double t = 134217729.0 * a; /* 2^27 + 1 */
  *hi = t - (t - a);
  *lo = a - *hi;
}

/* a·b = p + err exactly. */
static double two_prod(double a, double b, double *err) {
  double p = a * b, ah, al, bh, bl;
  split(a, &ah, &al);
  split(b, &bh, &bl);
  *err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

static dd dd_mul(dd x, dd y) {
  double e;
  double p = two_prod(x.hi, y.hi, &e);
  e += x.hi * y.lo + x.lo * y.hi;
  dd r;
  r.hi = p + e; /* quick two-sum: |p| >= |e| */
  r.lo = e - (r.hi - p);
  return r;
}

static double exponential(unsigned long long n) {
  dd r = {1.0, 0.0};
  const dd e = {E_HI, E_LO};
  long scale = 0; /* the value is (r.hi + r.lo) · 2^scale */
  for (unsigned long long i = 0; i < n; i++) {
    r = dd_mul(r, e);
    if (r.hi >= TWO_64) {
      r.hi *= TWO_M64;
      r.lo *= TWO_M64;
      scale += 64;
      if (scale > 1088) return 1.0 / 0.0; /* ≥ 2^1088: far past DBL_MAX ≈ 2^1024 */
    }
  }
  double v = r.hi + r.lo; /* the one rounding to double */
  for (; scale > 0; scale -= 64) v *= TWO_64; /* exact, or overflows to inf */
  return v;
}

static int run(const char *input) {
  unsigned long long n;
  if (nebula_input_uint("exponential", input, EXPONENTIAL_MAX, &n) != 0) return 2;
  nebula_print_double(exponential(n));
  return 0;
}

NEBULA_MAIN(run)
