/*
 * prime-number — the nth prime (1st = 2, 10000th = 104729) by brute force, as in the thesis: test
 * every number from 2 upwards by trial division against the primes collected so far (up to its
 * square root) and collect it if none divides it, until n primes are collected.
 * Input 0 has no prime and prints 0. Input 0..1000000 (the 1000000th prime is 15485863).
 */
#include <stdint.h>
#include "nebula.h"

#define PRIME_MAX 1000000ULL

/* Returns the nth prime, 0 for n = 0, or -1 when the collection cannot be allocated. */
static int64_t nth_prime(uint32_t n) {
  if (n == 0) return 0;
  /* malloc, not a static array: memory grows with n instead of every instance paying for the maximum. */
  uint32_t *primes = malloc((size_t)n * sizeof *primes);
  if (primes == NULL) return -1;
  uint32_t count = 0;
  for (uint32_t candidate = 2; count < n; candidate++) {
    int is_prime = 1;
    for (uint32_t i = 0; i < count; i++) {
      uint32_t p = primes[i];
      if ((uint64_t)p * p > candidate) break;
      if (candidate % p == 0) {
        is_prime = 0;
        break;
      }
    }
    if (is_prime) primes[count++] = candidate;
  }
  int64_t result = primes[n - 1];
  free(primes);
  return result;
}

static int run(const char *input) {
  unsigned long long n;
  if (nebula_input_uint("prime-number", input, PRIME_MAX, &n) != 0) return 2;
  int64_t p = nth_prime((uint32_t)n);
  if (p < 0) {
    fprintf(stderr, "prime-number: out of memory collecting %llu primes\n", n);
    return 3;
  }
  printf("%lld\n", (long long)p);
  return 0;
}

NEBULA_MAIN(run)
