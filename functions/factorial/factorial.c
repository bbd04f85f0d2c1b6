/*
 * factorial — n! in IEEE-754 double precision by repeated multiplication 1·2·…·n, 0! = 1.
 * 170! ≈ 7.26e306 is the last finite value; from 171 on the product overflows and prints `inf`.
 * Each multiplication is one correctly rounded IEEE operation, so every build gives the same bits.
 * Input 0..1000000000 (the loop stops once the product is infinite).
 */
#include "nebula.h"

#define FACTORIAL_MAX 1000000000ULL

static double factorial(unsigned long long n) {
  double r = 1.0;
  for (unsigned long long i = 2; i <= n; i++) {
    r *= (double)i;
    if (r == 1.0 / 0.0) break;
  }
  return r;
}

static int run(const char *input) {
  unsigned long long n;
  if (nebula_input_uint("factorial", input, FACTORIAL_MAX, &n) != 0) return 2;
  nebula_print_double(factorial(n));
  return 0;
}

NEBULA_MAIN(run)
