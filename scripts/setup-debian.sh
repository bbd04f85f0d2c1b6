#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Nebula: the wasm/native toolchains, Chromium (report tests),
# the Docker engine (started without a bridge, see docs/), and the npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

packages=(docker.io clang lld wasi-libc libclang-rt-14-dev-wasm32 gcc libc6-dev
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Docker engine: no bridge and no iptables (containers run with NetworkMode none).
if ! docker info >/dev/null 2>&1; then
  if [ -x /usr/sbin/dockerd ] || command -v dockerd >/dev/null; then
    echo "setup: starting dockerd (log: /tmp/nebula-dockerd.log)" >&2
    $SUDO sh -c 'nohup dockerd --bridge=none --iptables=false --ip6tables=false >/tmp/nebula-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "setup: dockerd did not come up, see /tmp/nebula-dockerd.log" >&2; exit 1; }
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >/dev/null
fi
# bin/nebula.js runs dist/ when it exists: rebuild so it is never older than src/ (~4 s).
npm run build --silent
