#!/usr/bin/env bash
# Generates the provider's Python SDK (pulumi_lxd) from its schema with the pinned CLI and installs
# it into the venv, so programs can `import pulumi_lxd as lxd`. Nothing lands in the git tree: the
# SDK is cached under $LXDHA_CACHE/sdk-<key>/python, key = hash(schema, toolchain build), and the
# venv records the installed key in .sdk-hash, so an unchanged schema costs one schema dump.
# Prints the generated SDK's directory on stdout (`make dist` builds its wheel from there).
#   usage: toolchain/generate-sdk.sh <toolchain bin dir>
#   LXDHA_SDK_SCHEMA=<file>  use this schema instead of `python -m lxd_provider.schema` (tests)
#   LXDHA_SDK_VENV=<dir>     install into this venv instead of .venv (tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:?usage: generate-sdk.sh <toolchain bin dir>}" && pwd -P)  # its real name carries the build key
cache=${LXDHA_CACHE:-$HOME/.cache/lxdha}
venv=${LXDHA_SDK_VENV:-$root/.venv}
say() { printf '[sdk] %s\n' "$*" >&2; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
schema="$work/schema.json"
if [ -n "${LXDHA_SDK_SCHEMA:-}" ]; then
  [ -f "$LXDHA_SDK_SCHEMA" ] || { say "LXDHA_SDK_SCHEMA=$LXDHA_SDK_SCHEMA is not a file: point it at a schema JSON or unset it"; exit 1; }
  cp "$LXDHA_SDK_SCHEMA" "$schema"
elif [ -f "$root/lxd_provider/schema.py" ]; then
  (cd "$root" && .venv/bin/python -m lxd_provider.schema) > "$schema" \
    || { say "\`python -m lxd_provider.schema\` failed (output above): fix the schema module, then run make setup again"; exit 1; }
else
  say "skipping the pulumi_lxd SDK: lxd_provider/ does not exist yet"
  exit 0
fi
package=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["name"])' "$schema" 2>/dev/null) \
  || { say "the provider schema is not JSON with a \"name\": check ${LXDHA_SDK_SCHEMA:-lxd_provider/schema.py}"; exit 1; }

# The toolchain directory's name carries the CLI version and the language host's build key.
key=$( (cat "$schema"; basename "$(dirname "$bin")") | sha256sum | cut -c1-16)
out="$cache/sdk-$key"
if [ ! -d "$out/python" ]; then  # complete once there: it is moved in whole
  mkdir -p "$cache"
  exec 9>"$cache/.generate-sdk.lock"; flock 9
  if [ ! -d "$out/python" ]; then
    started=$SECONDS
    rm -rf "$out.partial"
    (cd "$work" && PULUMI_HOME="$work/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true \
       PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
       "$bin/pulumi" package gen-sdk "$schema" --language python -o "$out.partial" >/dev/null) \
      || { say "pulumi package gen-sdk failed for package $package (diagnostics above)"; exit 1; }
    mv "$out.partial" "$out"
    say "generated pulumi_$package in $(( SECONDS - started )) s -> $out/python"
  fi
  exec 9>&-
fi

if [ "$(cat "$venv/.sdk-hash" 2>/dev/null)" != "$key" ]; then
  # The CLI and the YAML host cache a provider's schema next to its plugin directory and reuse it while
  # the directory is unchanged: a new schema (a new function, a new property) would stay unseen by YAML
  # programs and `pulumi import` until that copy is current. It is kept in git as the CLI writes it
  # (tests/unit/provider/test_schema.py compares it): rewritten here from the schema module.
  if [ -z "${LXDHA_SDK_SCHEMA:-}" ]; then
    rm -f "$root"/lxd_provider/schema-"$package"-*.json  # an older version's too
    (cd "$root" && .venv/bin/python -m lxd_provider.schema --cli-copy)
  fi
  # pip builds in the source tree: build a copy so the cache stays as generated.
  cp -r "$out/python" "$work/sdk"
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation "$work/sdk" >&2
  echo "$key" > "$venv/.sdk-hash"
  say "installed the $package SDK ($key) into $venv"
else
  say "the $package SDK is up to date ($key)"
fi
echo "$out/python"
