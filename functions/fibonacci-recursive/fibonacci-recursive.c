/*
 * fibonacci-recursive — the nth Fibonacci number by naive recursion, F(0) = 0, F(1) = 1,
 * F(n) = F(n-1) + F(n-2), in 64-bit signed integers. The run time grows as φ^n on purpose: this is
 * the thesis' CPU-bound, call-heavy benchmark. Input 0..92 (F(92) is the last that fits in int64).
 */
#include <stdint.h>
#include "nebula.h"

#define FIB_MAX 92

static int64_t fib(int64_t n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}

static int run(const char *input) {
  unsigned long long n;
  if (nebula_input_uint("fibonacci-recursive", input, FIB_MAX, &n) != 0) return 2;
  printf("%lld\n", (long long)fib((int64_t)n));
  return 0;
}

NEBULA_MAIN(run)
