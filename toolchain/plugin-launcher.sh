#!/bin/sh
# pulumi-resource-lxd as `make dist` packs it: the LXD provider on this archive's own packages (lib/),
# run by the CPython they were built for. Nothing else of the machine's is used: -I ignores PYTHON*
# variables and the user's site-packages, -S the interpreter's own site-packages.
python=python@PYTHON@
here=$(cd "$(dirname "$0")" && pwd -P)
if ! command -v "$python" >/dev/null 2>&1; then
  echo "pulumi-resource-lxd: $python is not on PATH. This plugin (@PLATFORM@) was built for CPython @PYTHON@:" \
       "install it, or build the plugin with the Python you have (make dist)." >&2
  exit 1
fi
exec "$python" -I -S -c 'import runpy, sys
sys.path.insert(0, sys.argv.pop(1))
runpy.run_module("lxd_provider", run_name="__main__", alter_sys=True)' "$here/lib" "$@"
