#!/usr/bin/env bash
# Builds the Pulumi CLI, this project's Python language host and the YAML language host from Go
# modules, once per version: the binaries are cached under $LXDHA_CACHE/pulumi-<version>-<key>/bin
# and reused. All three sit in one bin directory because the engine looks for language hosts
# next to the `pulumi` binary. Prints the bin directory on stdout (progress goes to stderr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cache=${LXDHA_CACHE:-$HOME/.cache/lxdha}

version=$(sed -n 's/^pulumi==\(.*\)$/\1/p' "$root/requirements.txt")
[ -n "$version" ] || { echo "build-pulumi: no 'pulumi==X' pin in requirements.txt" >&2; exit 1; }
for module in pulumi-cli langhost; do
  grep -q "github.com/pulumi/pulumi/pkg/v3 v$version" "$here/go/$module/go.mod" || {
    echo "build-pulumi: toolchain/go/$module/go.mod does not pin pkg/v3 v$version (requirements.txt says $version)." >&2
    echo "  fix: cd toolchain/go/$module && go get github.com/pulumi/pulumi/pkg/v3@v$version && go mod tidy" >&2
    exit 1
  }
done

# The cache key covers every file that changes the binaries (sources, module pins, Go itself).
sources=$(cd "$here" && find go/pulumi-cli go/langhost go/yaml pulumi-resource-pulumi-python -type f | LC_ALL=C sort)
key=$( (cd "$here" && for f in $sources; do echo "== $f"; cat "$f"; done; go env GOVERSION) \
      | sha256sum | cut -c1-12)
out="$cache/pulumi-$version-$key"
built() { [ -x "$out/bin/pulumi" ] && [ -x "$out/bin/pulumi-language-python" ] && [ -x "$out/bin/pulumi-language-yaml" ]; }
built && { echo "$out/bin"; exit 0; }

# Two set-ups at once (several worktrees) build once: the second waits, then finds the result.
mkdir -p "$cache"
exec 9>"$cache/.build-pulumi.lock"
if ! flock -n 9; then
  echo "build-pulumi: another set-up is building the toolchain; waiting for it..." >&2
  flock 9
fi
built && { echo "$out/bin"; exit 0; }

export GOFLAGS=-mod=readonly CGO_ENABLED=0
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
build() { # <module dir> <output name> <package> [ldflags]
  local started=$SECONDS
  (cd "$here/go/$1" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$4" -o "$tmp/bin/$2" "$3")
  echo "build-pulumi: $2 built in $(( SECONDS - started )) s" >&2
}
tmp="$out.partial"
rm -rf "$tmp"; mkdir -p "$tmp/bin"
start=$SECONDS
echo "build-pulumi: building pulumi v$version (first time only, several minutes on 2 cores)..." >&2
build pulumi-cli pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$ldflags"
build langhost pulumi-language-python . "$ldflags"
yaml_version=$(cd "$here/go/yaml" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi-yaml)
build yaml pulumi-language-yaml github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml \
  "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$yaml_version"

# The SDK ships the executor as a script: take it from the same sdk module version so it matches the
# Python SDK. The dynamic-provider plugin is our own script (plugin_host/dynamic.py: one-line errors, 16 workers).
sdk=$(cd "$here/go/langhost" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$tmp/bin/"
install -m 0755 "$here/pulumi-resource-pulumi-python" "$tmp/bin/"
echo "$version" > "$tmp/VERSION"
rm -rf "$out"; mv "$tmp" "$out"
echo "build-pulumi: done in $(( SECONDS - start )) s -> $out/bin" >&2
echo "$out/bin"
