"""The native provider's own code as a wheel (`lxdha-lxd-provider`): exactly the modules of this
repository that `python -m lxd_provider` imports, and the installed distributions they need.

The plugin's code spans four packages (lxd_provider, plugin_host, cluster, config) whose other modules
serve the Pulumi program and the operations commands; the wheel carries only what the plugin runs. The
set is found by importing the plugin's entry point in a clean interpreter, so a new import is picked up
without a list to keep.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
ENTRY_MODULE = "lxd_provider.__main__"
DISTRIBUTION = "lxdha-lxd-provider"
# Required by the pulumi SDK for `--attach-debugger` only, which no plugin of ours takes: 20 MB never imported.
UNUSED_DEPENDENCIES = frozenset({"debugpy"})

_LOADED = """
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
import {module}
ours = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
        and m.__file__.startswith(root + "/") and not m.__file__.startswith(sys.prefix + "/")]  # .venv is in root
print(json.dumps(sorted(ours)))
"""


def plugin_modules(python: str = sys.executable) -> list[str]:
    """Repository-relative paths of the modules the plugin's entry point imports."""
    result = subprocess.run([python, "-I", "-c", _LOADED.format(module=ENTRY_MODULE), str(ROOT)],
                            capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    if result.returncode != 0:
        raise RuntimeError(f"importing {ENTRY_MODULE} failed, so the plugin cannot be packaged:\n{result.stderr}")
    return [str(Path(path).relative_to(ROOT)) for path in json.loads(result.stdout)]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_dependencies(modules: list[str]) -> list[str]:
    """The installed distributions the plugin's modules import by name (grpc -> grpcio)."""
    ours = {module.split("/", 1)[0] for module in modules}
    by_module = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for module in modules:
        for node in ast.walk(ast.parse((ROOT / module).read_text(), module)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                if name.split(".", 1)[0] not in ours | set(sys.stdlib_module_names):
                    found.add(_providing(name, by_module, module))
    return sorted(found)


def _providing(name: str, by_module: dict[str, list[str]], importer: str) -> str:
    """The distribution that installs module `name`; a namespace (google) is shared by several."""
    candidates = by_module.get(name.split(".", 1)[0], [])
    if len(candidates) > 1:
        prefix = name.replace(".", "/") + "/"
        candidates = [dist for dist in candidates
                      if any(str(file).startswith(prefix) for file in importlib.metadata.files(dist) or ())]
    if len(candidates) != 1:
        raise RuntimeError(f"{importer} imports {name}, which {'no' if not candidates else 'more than one'} "
                           "installed distribution provides: pin the one it needs in requirements.txt, then make setup")
    return canonical(candidates[0])


def pinned_closure(names: list[str]) -> dict[str, str]:
    """Each distribution that `names` need, transitively, at the version installed here (what the tests
    ran with), less UNUSED_DEPENDENCIES."""
    pins: dict[str, str] = {}
    pending = list(names)
    while pending:
        name = canonical(pending.pop())
        if name in pins or name in UNUSED_DEPENDENCIES:
            continue
        dist = importlib.metadata.distribution(name)
        pins[name] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return dict(sorted(pins.items()))


def _project() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pyproject(version: str, packages: list[str], dependencies: list[str]) -> str:
    return "\n".join([
        "[build-system]", 'requires = ["setuptools"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", f'name = "{DISTRIBUTION}"', f'version = "{version}"',
        'description = "The lxdha native LXD provider (pulumi-resource-lxd)."',
        f'requires-python = "{_project()["requires-python"]}"',
        f"dependencies = {json.dumps(dependencies)}", "",
        "[tool.setuptools]", f"packages = {json.dumps(packages)}", ""])


def build(version: str, out_dir: Path, modules: list[str], pins: dict[str, str]) -> Path:
    """Builds the wheel from a staging copy of `modules` (nothing is written in the repository)."""
    dependencies = [f"{name}=={pins[name]}" for name in direct_dependencies(modules)]
    with tempfile.TemporaryDirectory(prefix="provider-wheel-") as staging:
        for module in modules:
            (Path(staging) / module).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / module, Path(staging) / module)
        packages = sorted({str(Path(module).parent).replace("/", ".") for module in modules})
        (Path(staging) / "pyproject.toml").write_text(_pyproject(version, packages, dependencies))
        out_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                        "-w", str(out_dir), staging], check=True, timeout=300, stdout=sys.stderr)
    (wheel,) = out_dir.glob(f"{DISTRIBUTION.replace('-', '_')}-{version}-*.whl")
    return wheel
