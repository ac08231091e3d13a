#!/usr/bin/env bash
# Builds the Pulumi CLI and this project's Python language host from Go modules, once per
# version: the binaries are cached under $LXDHA_CACHE/pulumi-<version>-<key>/bin and reused.
# Prints the bin directory on stdout (progress goes to stderr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cache=${LXDHA_CACHE:-$HOME/.cache/lxdha}

version=$(sed -n 's/^pulumi==\(.*\)$/\1/p' "$root/requirements.txt")
[ -n "$version" ] || { echo "build-pulumi: no 'pulumi==X' pin in requirements.txt" >&2; exit 1; }
grep -q "github.com/pulumi/pulumi/pkg/v3 v$version" "$here/pulumi-cli/go.mod" || {
  echo "build-pulumi: toolchain/pulumi-cli/go.mod does not pin pkg/v3 v$version (requirements.txt says $version)." >&2
  echo "  fix: cd toolchain/pulumi-cli && go get -tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" >&2
  exit 1
}

# The cache key covers everything that changes the binaries.
key=$(cat "$here"/pulumi-cli/go.{mod,sum} "$here"/langhost/go.{mod,sum} "$here"/langhost/*.go \
      <(go env GOVERSION) | sha256sum | cut -c1-12)
out="$cache/pulumi-$version-$key"
if [ -x "$out/bin/pulumi" ] && [ -x "$out/bin/pulumi-language-python" ]; then
  echo "$out/bin"; exit 0
fi

export GOFLAGS=-mod=readonly CGO_ENABLED=0
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
tmp="$out.partial"
rm -rf "$tmp"; mkdir -p "$tmp/bin"
start=$(date +%s)
echo "build-pulumi: building pulumi v$version (first time only, several minutes on 2 cores)..." >&2
(cd "$here/pulumi-cli" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
   -o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
echo "build-pulumi: building pulumi-language-python..." >&2
(cd "$here/langhost" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
   -o "$tmp/bin/pulumi-language-python" .)

# The SDK ships the executor and the dynamic-provider plugin as scripts; take them from the
# same sdk module version so they match the Python SDK.
sdk=$(cd "$here/langhost" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$tmp/bin/"
install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$tmp/bin/"
echo "$version" > "$tmp/VERSION"
rm -rf "$out"; mv "$tmp" "$out"
echo "build-pulumi: done in $(( $(date +%s) - start )) s -> $out/bin" >&2
echo "$out/bin"
