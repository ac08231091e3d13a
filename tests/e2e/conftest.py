"""Fixtures for end-to-end tests that drive the real Pulumi CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import require, require_root_tools
from toolchain.pulumi_cli import ROOT, pulumi_env

TOY_PROVIDER = ROOT / "tests" / "e2e" / "fixtures" / "toy_lxd_provider"
TOY_SCHEMA = ROOT / "toolchain" / "testdata" / "lxd-schema.json"


@pytest.fixture(scope="session")
def pulumi_toolchain() -> Path:
    """The project's built CLI; `make setup` builds it."""
    bin_dir = ROOT / ".tools" / "bin"
    require((bin_dir / "pulumi").exists(), "the Pulumi toolchain is not built: run `make setup`")
    return bin_dir


@pytest.fixture()
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's offline environment with its own backend and home, so a test leaves no stack behind."""
    base = dict(os.environ)
    base.update(PULUMI_HOME=str(tmp_path / "pulumi-home"), PULUMI_BACKEND_URL=f"file://{tmp_path / 'backend'}",
                PULUMI_CONFIG_PASSPHRASE="e2e-test-only")
    return pulumi_env(base)


@pytest.fixture()
def scratch_venv(tmp_path: Path) -> Path:
    """A throwaway venv that sees the project venv's packages (pulumi, parver, semver, setuptools)
    through a .pth file: what a test installs lands here, never in the project's .venv, and pip
    needs no index."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "project-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


@pytest.fixture()
def standalone_daemon():
    require_root_tools("lxd", "lxc", "unshare")
    from tests.support.standalone_lxd import standalone_lxd

    with standalone_lxd() as daemon:
        yield daemon
