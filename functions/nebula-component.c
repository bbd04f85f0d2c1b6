/*
 * nebula-component.c — linked into the core module that `nebula build` turns into a WASI 0.2
 * component (<name>.component.wasm) with the preview1 → preview2 command adapter; the plain .wasm is
 * built without it. It fixes two ways the adapter breaks with wasi-libc 2022 and wasm-ld 14
 * (docs/functions.md, "Components"):
 *
 *   1. The adapter allocates its own state through the module's exported `cabi_realloc`. Without one,
 *      it takes memory.grow pages behind dlmalloc's back, and dlmalloc later hands the same bytes out
 *      again. Exporting a malloc-backed cabi_realloc keeps one allocator for both.
 *   2. wasm-ld 14 wraps every export of a command module in __wasm_call_ctors/__wasm_call_dtors, so
 *      the adapter's call into cabi_realloc would run the destructors (stdio flush) in the middle of
 *      the adapter's start-up and stdout would be lost. Linking with -nostartfiles and this _start
 *      (ctors, main, exit → atexit + stdio flush + proc_exit) leaves exports unwrapped.
 */
#include <stddef.h>
#include <stdlib.h>

extern void __wasm_call_ctors(void);
extern int __original_main(void);

/*
 * The canonical ABI allocator, with realloc semantics. malloc aligns to 16, more than the ABI asks;
 * a zero-size block is the non-null pointer `align` and is never passed to realloc.
 */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  if (new_size == 0) return (void *)align;
  if (old_size == 0) ptr = NULL;
  void *p = realloc(ptr, new_size);
  if (p == NULL) abort();
  return p;
}

__attribute__((export_name("_start")))
void _start(void) {
  __wasm_call_ctors();
  exit(__original_main());
}
