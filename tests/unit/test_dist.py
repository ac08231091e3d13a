"""`make dist`'s parts without a build: which modules and distributions the plugin archive carries, its
launcher, manifest and name, and that the archive is reproducible. tests/e2e/test_dist.py builds it
whole and starts the plugin from it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from lxd_provider.schema import VERSION
from tests.support.dist import git_status, pinned
from toolchain import plugin_archive, provider_wheel

PLUGIN_PACKAGES = {"cluster", "config", "lxd_provider", "plugin_host"}


@pytest.fixture(scope="module")
def modules() -> list[str]:
    return provider_wheel.plugin_modules()


@pytest.fixture(scope="module")
def pins(modules: list[str]) -> dict[str, str]:
    return provider_wheel.pinned_closure(provider_wheel.direct_dependencies(modules))


def test_the_plugin_carries_the_modules_its_entry_point_imports_and_no_others(modules: list[str]) -> None:
    assert {"lxd_provider/__main__.py", "lxd_provider/schema.py", "plugin_host/grpc_server.py", "config/lxd.py",
            "cluster/connection.py"} <= set(modules)
    assert {module.split("/", 1)[0] for module in modules} == PLUGIN_PACKAGES
    # the program's and the operations commands' modules stay out
    assert not {"plugin_host/dynamic.py", "config/stack.py", "config/registry.py"} & set(modules)


def test_its_distributions_are_those_it_imports_and_what_they_need_at_the_tested_versions(
        modules: list[str], pins: dict[str, str]) -> None:
    assert {"pulumi", "pylxd", "grpcio", "protobuf", "requests"} <= set(provider_wheel.direct_dependencies(modules))
    assert pins["pulumi"] == pinned("pulumi") and pins["pylxd"] == pinned("pylxd")
    assert "debugpy" not in pins  # pulumi requires it for --attach-debugger only: 20 MB never imported
    assert not {"ansible-core", "boto3", "bcrypt", "mitogen", "pytest"} & set(pins)


def test_the_provider_wheel_holds_exactly_those_modules_and_pins(modules: list[str], pins: dict[str, str],
                                                                  tmp_path: Path) -> None:
    before = git_status()
    wheel = provider_wheel.build(VERSION, tmp_path, modules, pins)
    assert wheel.name == f"lxdha_lxd_provider-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"lxdha_lxd_provider-{VERSION}.dist-info/METADATA").decode()
    assert sorted(name for name in names if ".dist-info/" not in name) == sorted(modules)
    assert f"Requires-Dist: pulumi=={pins['pulumi']}" in metadata.splitlines()
    assert git_status() == before  # built from a staging copy


def test_the_launcher_names_the_python_it_was_built_for() -> None:
    text = plugin_archive.launcher()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"python=python{version}\n" in text and "@PYTHON@" not in text and "@PLATFORM@" not in text
    assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0


def test_without_that_python_the_launcher_says_what_to_install(tmp_path: Path) -> None:
    launcher = tmp_path / plugin_archive.EXECUTABLE
    launcher.write_text(plugin_archive.launcher())
    launcher.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "dirname").symlink_to("/usr/bin/dirname")  # the launcher's one external command; no python
    result = subprocess.run(["/bin/sh", str(launcher), "127.0.0.1:1"], env={"PATH": str(tools)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    version = plugin_archive.python_version()
    assert result.stderr.strip() == (f"pulumi-resource-lxd: python{version} is not on PATH. This plugin "
                                     f"({plugin_archive.platform_name()}) was built for CPython {version}: install "
                                     "it, or build the plugin with the Python you have (make dist).")


def test_the_archive_is_named_and_described_as_pulumi_installs_it(pins: dict[str, str]) -> None:
    name = plugin_archive.archive_name(VERSION)
    assert name == f"pulumi-resource-lxd-v{VERSION}-{plugin_archive.platform_name()}.tar.gz"
    assert plugin_archive.platform_name() in {"linux-amd64", "linux-arm64"}
    described = plugin_archive.manifest(VERSION, pins, "w.whl")
    assert described["version"] == VERSION and described["packages"] == pins
    assert described["python"] == plugin_archive.python_version() and described["kind"] == "resource"
    assert json.loads(json.dumps(described)) == described


def _stage(root: Path, mtime: int) -> Path:
    (root / "lib" / "pkg").mkdir(parents=True)
    (root / "lib" / "pkg" / "__init__.py").write_text("")
    (root / plugin_archive.EXECUTABLE).write_text("#!/bin/sh\n")
    (root / plugin_archive.EXECUTABLE).chmod(0o750)
    (root / plugin_archive.MANIFEST).write_text("{}")
    for path in [root, *root.rglob("*")]:
        os.utime(path, (mtime, mtime))
    return root


def test_the_archive_is_reproducible_and_keeps_the_launcher_executable(tmp_path: Path) -> None:
    first, second = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz"
    plugin_archive.write_archive(_stage(tmp_path / "a", 1_000), first, 42)
    plugin_archive.write_archive(_stage(tmp_path / "b", 2_000), second, 42)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with tarfile.open(first) as tar:
        members = {member.name: member for member in tar.getmembers()}
    assert list(members) == sorted(members)
    assert members[plugin_archive.EXECUTABLE].mode == 0o755 and members["lib/pkg/__init__.py"].mode == 0o644
    assert {(m.uid, m.uname, m.mtime) for m in members.values()} == {(0, "", 42)}
