"""`make dist` whole, without LXD: the plugin archive installs with `pulumi plugin install --file` and the
engine gets the provider's schema from the installed copy, run outside the repository with the system's
Python; the SDK wheel installs and imports. tests/integration/test_dist_install.py deploys with both."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from lxd_provider.schema import VERSION, schema
from tests.support.dist import Dist, build_dist, git_status, outside_env
from toolchain import plugin_archive, provider_wheel
from toolchain.pulumi_cli import PulumiCli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dist, str, str]:
    """The artefacts, and the git status before and after the build."""
    before = git_status()
    return build_dist(tmp_path_factory.mktemp("dist")), before, git_status()


@pytest.fixture(scope="module")
def dist(built: tuple[Dist, str, str]) -> Dist:
    return built[0]


def test_the_archive_carries_the_launcher_the_manifest_and_the_pinned_packages(dist: Dist) -> None:
    with tarfile.open(dist.archive) as tar:
        names = set(tar.getnames())
        described = json.load(tar.extractfile(plugin_archive.MANIFEST))
    assert dist.archive.name == plugin_archive.archive_name(VERSION)
    assert {plugin_archive.EXECUTABLE, "lib/lxd_provider/__main__.py", "lib/pulumi/__init__.py"} <= names
    assert "lib/config/stack.py" not in names and not any(name.startswith("lib/debugpy") for name in names)
    sources = {name for name in names if name.endswith(".py")}
    assert all(any(n.startswith(f"{Path(s).parent}/__pycache__/{Path(s).stem}.") for n in names) for s in sources)
    modules = provider_wheel.plugin_modules()
    assert described["version"] == VERSION
    assert described["packages"] == provider_wheel.pinned_closure(provider_wheel.direct_dependencies(modules))


def test_the_installed_plugin_serves_its_schema_outside_the_repository(dist: Dist, tmp_path: Path) -> None:
    env = outside_env(tmp_path)
    cli = PulumiCli(tmp_path, "unused", env=env, timeout_s=300)
    cli.run("plugin", "install", "resource", "lxd", VERSION, "--file", str(dist.archive))
    (listed,) = json.loads(cli.run("plugin", "ls", "--json").stdout)
    assert (listed["name"], listed["kind"], listed["version"]) == ("lxd", "resource", VERSION)
    served = json.loads(cli.run("package", "get-schema", f"lxd@{VERSION}").stdout)
    assert served == json.loads(json.dumps(schema()))


def test_the_sdk_wheel_installs_and_names_its_version(dist: Dist, scratch_venv: Path) -> None:
    python = str(scratch_venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(dist.sdk_wheel)],
                   check=True, timeout=120)
    found = subprocess.run([python, "-c", "import importlib.metadata as m, pulumi_lxd as lxd;"
                            "print(m.version('pulumi_lxd'), lxd.Instance.__name__, lxd.Profile.__name__)"],
                           capture_output=True, text=True, timeout=60, cwd=scratch_venv)
    assert found.stdout.split() == [VERSION, "Instance", "Profile"], found.stderr


def test_building_leaves_the_git_tree_as_it_was(built: tuple[Dist, str, str]) -> None:
    _, before, after = built
    assert after == before
