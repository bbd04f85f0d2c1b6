/*
 * nebula.h — the harness every Nebula function is built with (wasm32-wasi and static native alike).
 *
 * Contract (docs/functions.md):
 *   1. the very first act is to print `nebula-start <µs since the Unix epoch>` on stderr
 *      (CLOCK_REALTIME: the server reads the same clock, so cold start = this − request received);
 *   2. read one line of input from stdin (at most NEBULA_MAX_INPUT bytes, trailing CR/LF removed);
 *   3. call the function, which prints its result on stdout and returns the exit code
 *      (non-zero with a message on stderr for malformed input — never a wrong number);
 *   4. flush stdout, then print `nebula-end <µs since the Unix epoch>` on stderr as the last act, so
 *      the server can tell the function's own run time (exec) from the runtime's teardown.
 *
 * Usage:   static int run(const char *input) { ...; printf("%d\n", x); return 0; }
 *          NEBULA_MAIN(run)
 */
#ifndef NEBULA_H
#define NEBULA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef NEBULA_MAX_INPUT
#define NEBULA_MAX_INPUT 65536
#endif

static inline long long nebula_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000LL + (long long)(ts.tv_nsec / 1000);
}

static inline void nebula_print_start(void) {
  fprintf(stderr, "nebula-start %lld\n", nebula_now_us());
}

/* stderr is unbuffered: the line is out before main returns and the runtime tears the instance down. */
static inline void nebula_print_end(void) {
  fprintf(stderr, "nebula-end %lld\n", nebula_now_us());
}

/* Reads stdin up to the first newline (or EOF) into buf; returns the length, or -1 if too long. */
static inline long nebula_read_line(char *buf, size_t cap) {
  size_t len = 0;
  int c;
  while ((c = getchar()) != EOF && c != '\n') {
    if (len + 1 >= cap) return -1;
    buf[len++] = (char)c;
  }
  if (len > 0 && buf[len - 1] == '\r') len--;
  buf[len] = '\0';
  return (long)len;
}

/* Parses a whole non-negative decimal integer ≤ max; returns 0 on success. */
static inline int nebula_parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  while (*s == ' ' || *s == '\t') s++;
  if (*s < '0' || *s > '9') return -1;
  unsigned long long v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    unsigned long long digit = (unsigned long long)(*s - '0');
    /* checked before multiplying, so v never wraps around past 2^64 */
    if (digit > max || v > (max - digit) / 10) return -1;
    v = v * 10 + digit;
  }
  while (*s == ' ' || *s == '\t') s++;
  if (*s != '\0') return -1;
  *out = v;
  return 0;
}

/*
 * Reads the input as a whole number 0..max for the function `name`. On malformed input it prints
 * `<name>: input must be a whole number from 0 to <max>, got "<input>"` on stderr and returns -1,
 * so the caller exits non-zero without printing a number; returns 0 otherwise.
 */
static inline int nebula_input_uint(const char *name, const char *input, unsigned long long max, unsigned long long *out) {
  if (nebula_parse_uint(input, max, out) == 0) return 0;
  fprintf(stderr, "%s: input must be a whole number from 0 to %llu, got \"%.40s\"\n", name, max, input);
  return -1;
}

/*
 * Prints a double on stdout the way Python's repr() does, without its ".0": the fewest significant
 * digits (1..17) that read back as the same value, in plain notation for 1e-4 <= |x| < 1e16 and as
 * d.ddde±XX otherwise, then a newline; infinities print as `inf`/`-inf`, NaN as `nan`. glibc and
 * wasi-libc (musl) both convert exactly in printf and strtod, so the text is identical on every
 * build, where a bare %g loses digits and %.17g prints noise (2.7182818284590451 for e).
 */
static inline void nebula_print_double(double x) {
  char buf[48];
  if (x != x) {
    fputs("nan\n", stdout);
    return;
  }
  if (x == 1.0 / 0.0 || x == -1.0 / 0.0) {
    fputs(x > 0 ? "inf\n" : "-inf\n", stdout);
    return;
  }
  int digits = 1;
  for (; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*e", digits - 1, x);
    if (strtod(buf, NULL) == x) break;
  }
  int exponent = atoi(strchr(buf, 'e') + 1);
  if (exponent >= -4 && exponent < 16) {
    /* Below 1e16 a shortest form with fewer digits than its integer part is a multiple of ten,
       which a double holds exactly, so padding to exponent+1 digits adds only zeros. */
    snprintf(buf, sizeof buf, "%.*g", digits > exponent + 1 ? digits : exponent + 1, x);
  }
  fputs(buf, stdout);
  fputc('\n', stdout);
}

#define NEBULA_MAIN(fn)                                                       \
  int main(void) {                                                            \
    nebula_print_start();                                                     \
    static char nebula_input[NEBULA_MAX_INPUT];                               \
    if (nebula_read_line(nebula_input, sizeof nebula_input) < 0) {            \
      fprintf(stderr, "input longer than %d bytes\n", NEBULA_MAX_INPUT - 1);  \
      nebula_print_end();                                                     \
      return 2;                                                               \
    }                                                                         \
    int nebula_rc = fn(nebula_input);                                         \
    fflush(stdout);                                                           \
    nebula_print_end();                                                       \
    return nebula_rc;                                                         \
  }

#endif
