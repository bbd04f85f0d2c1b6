#!/usr/bin/env bash
# Runs the node:test suites under test/ (or only the paths given) through tsx.
# Node 20's --test takes no globs, so the files are listed here.
set -euo pipefail
cd "$(dirname "$0")/.."
roots=("$@"); [ ${#roots[@]} -gt 0 ] || roots=(test)
mapfile -t files < <(find "${roots[@]}" -type f \( -name '*.test.ts' -o -name '*.test.tsx' \) | sort)
[ ${#files[@]} -gt 0 ] || { echo "no test files under ${roots[*]}" >&2; exit 1; }
# Build the bundled functions once, before any test runs: several test files deploy them and build
# what is missing in place, and builds racing each other in parallel files wrote modules that differ
# from the committed ones (the reproducibility test then failed). A sequential build first leaves
# nothing missing; it rewrites the committed modules byte for byte.
node bin/nebula.js build >/dev/null
# --test-force-exit: a test that fails before closing its server must not hang the run forever.
exec node --import tsx --test --test-force-exit --test-timeout=180000 --test-concurrency="${NEBULA_TEST_CONCURRENCY:-2}" "${files[@]}"
