"""Code generation through our language host with the pinned CLI, offline: `pulumi package gen-sdk`
(GeneratePackage), `pulumi import` printing Python (GenerateProgram), `pulumi package add` of a
local provider (GeneratePackage + Link + install), and the set-up step that generates and installs
the SDK. The provider is the test-only toy under fixtures/ (no LXD, no network)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import TOY_PROVIDER, TOY_SCHEMA
from tests.support.dist import git_status
from toolchain.pulumi_cli import ROOT, PulumiCli

pytestmark = pytest.mark.e2e


def _python_project(workdir: Path, virtualenv: Path, **extra: object) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    project = {"name": f"toy-{uuid.uuid4().hex[:6]}",
               "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(virtualenv)}}, **extra}
    (workdir / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (workdir / "__main__.py").write_text("import pulumi\n")
    return workdir


def _imports(python: Path, code: str) -> str:
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_gen_sdk_builds_an_importable_package(pulumi_toolchain, isolated_env, scratch_venv, tmp_path: Path) -> None:
    cli = PulumiCli(tmp_path, "unused", env=isolated_env, timeout_s=120)
    cli.run("package", "gen-sdk", str(TOY_SCHEMA), "--language", "python", "-o", str(tmp_path / "out"))
    sdk = tmp_path / "out" / "python"
    assert 'VERSION = "0.1.0"' in (sdk / "setup.py").read_text()  # respectSchemaVersion
    # The SDK reads its own version from its installed metadata, so it is installed, not put on a path.
    subprocess.run([str(scratch_venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", str(sdk)], check=True, timeout=120)
    found = _imports(scratch_venv / "bin" / "python", "import inspect, pulumi_lxd as lxd; print(lxd.Profile.__module__,"
                     " sorted(inspect.signature(lxd.ProfileArgs).parameters))")
    assert found == "pulumi_lxd.profile ['config', 'description', 'name']"


def test_import_prints_python_code(pulumi_toolchain, isolated_env, tmp_path: Path) -> None:
    project = _python_project(tmp_path / "project", ROOT / ".venv",
                              plugins={"providers": [{"name": "lxd", "path": str(TOY_PROVIDER)}]})
    cli = PulumiCli(project, "import", env=isolated_env, timeout_s=120)
    cli.ensure_stack()
    printed = cli.run("import", "lxd:index/profile:Profile", "db", "default/db", "--yes").stdout
    assert "import pulumi_lxd as lxd" in printed
    assert 'db = lxd.Profile("db"' in printed
    assert '"limits.cpu": "2"' in printed and 'name="default/db"' in printed


def test_package_add_of_a_local_provider(pulumi_toolchain, isolated_env, scratch_venv, tmp_path: Path) -> None:
    project = _python_project(tmp_path, scratch_venv)
    (project / "requirements.txt").write_text("pulumi>=3.0.0\n")
    env = dict(isolated_env, PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0")  # proves no index is needed
    cli = PulumiCli(project, "unused", env=env, timeout_s=180)
    printed = cli.run("package", "add", str(TOY_PROVIDER / "pulumi-resource-lxd")).stdout
    assert "import pulumi_lxd as lxd" in printed
    assert (project / "requirements.txt").read_text().splitlines() == ["pulumi>=3.0.0", "sdks/lxd"]
    assert yaml.safe_load((project / "Pulumi.yaml").read_text())["packages"] == {"lxd": "lxd@0.1.0"}
    location = _imports(scratch_venv / "bin" / "python", "import pulumi_lxd as lxd; print(lxd.Profile.__module__,"
                        " lxd.__file__)")
    assert location.startswith(f"pulumi_lxd.profile {scratch_venv}")


def _generate_sdk_step(tmp_path: Path, venv: Path) -> str:
    env = dict(os.environ, LXDHA_CACHE=str(tmp_path / "cache"), LXDHA_SDK_SCHEMA=str(TOY_SCHEMA),
               LXDHA_SDK_VENV=str(venv))
    result = subprocess.run([str(ROOT / "toolchain" / "generate-sdk.sh"), str(ROOT / ".tools" / "bin")], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_setup_step_generates_once_and_installs(pulumi_toolchain, scratch_venv, tmp_path: Path) -> None:
    before = git_status()
    first = _generate_sdk_step(tmp_path, scratch_venv)
    assert "generated pulumi_lxd" in first and "installed the lxd SDK" in first
    again = _generate_sdk_step(tmp_path, scratch_venv)
    assert "up to date" in again and "generated" not in again
    (sdk_dir,) = (tmp_path / "cache").glob("sdk-*")
    assert (scratch_venv / ".sdk-hash").read_text().strip() == sdk_dir.name.removeprefix("sdk-")
    assert _imports(scratch_venv / "bin" / "python", "import pulumi_lxd; print(pulumi_lxd.Profile.__name__)") \
        == "Profile"
    assert git_status() == before  # nothing generated lands in the git tree
