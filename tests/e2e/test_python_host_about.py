"""Our Python language host's `About` (the engine asks it before every preview, up and destroy) reads
the venv's pyvenv.cfg instead of starting Python and pip; it must give the same answer as the
toolchain's own, which it falls back to when pyvenv.cfg has no version line."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
import yaml

from toolchain.pulumi_cli import PulumiCli

pytestmark = pytest.mark.e2e


def _python_project(workdir: Path, venv: Path) -> Path:
    workdir.mkdir()
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(venv)}}
    (workdir / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "about-check", "runtime": runtime}))
    (workdir / "__main__.py").write_text("")
    return workdir


def _runtime_about(project: Path, env: dict[str, str]) -> dict[str, str]:
    about = PulumiCli(project, "about", env=env, timeout_s=120).run("about", "--json", check=False)
    return json.loads(about.stdout)["runtime"]


@pytest.mark.parametrize("version_line", [True, False], ids=["from-pyvenv-cfg", "toolchain-fallback"])
def test_about_names_the_venv_python(pulumi_toolchain, isolated_env, scratch_venv: Path, tmp_path: Path,
                                     version_line: bool) -> None:
    config = scratch_venv / "pyvenv.cfg"
    if not version_line:
        config.write_text("".join(line + "\n" for line in config.read_text().splitlines()
                                  if not line.startswith("version")))
    runtime = _runtime_about(_python_project(tmp_path / "project", scratch_venv), isolated_env)
    assert runtime == {"language": "python", "executable": str(scratch_venv / "bin" / "python"),
                       "version": platform.python_version()}
