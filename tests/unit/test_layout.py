"""The packages stand on each other in one direction: no import cycle between them, and each one only
on the packages below it (the layout in docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# each package may import only the ones listed before it (tests may import anything)
LAYERS = ("cluster", "config", "plugin_host", "provisioners", "lxd_provider", "components", "toolchain", "lab",
          "ops", "harness", "bench")


def package_imports() -> dict[str, set[str]]:
    """package -> the other packages of this repository its modules import."""
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    graph: dict[str, set[str]] = {}
    for path in tracked:
        package = path.split("/", 1)[0]
        if package not in LAYERS or not (ROOT / path).is_file() or "/tests/" in path:
            continue
        for node in ast.walk(ast.parse((ROOT / path).read_text(), path)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                target = name.split(".", 1)[0]
                if target in LAYERS and target != package:
                    graph.setdefault(package, set()).add(target)
    return graph


def test_no_package_imports_one_above_it() -> None:
    upward = [f"{package} imports {target}" for package, targets in package_imports().items()
              for target in targets if LAYERS.index(target) > LAYERS.index(package)]
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph = package_imports()
    cycles: list[list[str]] = []

    def visit(package: str, path: list[str]) -> None:
        for target in sorted(graph.get(package, ())):
            if target in path:
                cycles.append([*path[path.index(target):], target])
            else:
                visit(target, [*path, target])

    for package in LAYERS:
        visit(package, [package])
    assert cycles == []
