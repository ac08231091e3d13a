#!/usr/bin/env bash
# One idempotent set-up for a fresh machine: Debian packages, the Python venv, and the Pulumi
# toolchain (built from Go modules and cached). A second run does nothing and takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '[setup] %s\n' "$*" >&2; }

listed() {  # the package names in these list files (one or more per line, # comments)
  cat "$@" 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}
not_installed() {  # those of the listed packages dpkg does not have installed
  while read -r pkg; do
    [ "$pkg" = golang-go ] && command -v go >/dev/null && continue   # a newer Go is already on PATH
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done < <(listed "$@")
}
mapfile -t missing < <(not_installed toolchain/apt-packages.txt lab/apt-packages.txt)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Incus (lab/incus-packages.txt) from bookworm-backports: a suite apt prefers for nothing unless asked (-t)
backports=/etc/apt/sources.list.d/lxdha-bookworm-backports.sources
mapfile -t incus_missing < <(not_installed lab/incus-packages.txt)
if [ ${#incus_missing[@]} -gt 0 ]; then
  step "installing Incus from bookworm-backports: ${incus_missing[*]}"
  if [ ! -f "$backports" ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$backports"
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports "${incus_missing[@]}" >/dev/null
fi

req_hash=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements-hash 2>/dev/null)" != "$req_hash" ]; then
  step "creating the Python venv (.venv) from requirements-dev.txt"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$req_hash" > .venv/.requirements-hash
fi

bin=$(toolchain/build-pulumi.sh)
mkdir -p .tools
ln -sfn "$bin" .tools/bin
step "pulumi $(.tools/bin/pulumi version) at $bin"
toolchain/generate-sdk.sh "$bin" >/dev/null

# Pinned Go programs: the registry server the replicas run and the OCI conformance suite (cached).
.venv/bin/python -m toolchain.go_tools >&2
