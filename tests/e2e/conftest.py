"""Fixtures for end-to-end tests that drive the real Pulumi CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.pulumi_cli import ROOT
from tests.conftest import require, require_root_tools


@pytest.fixture(scope="session")
def pulumi_toolchain() -> Path:
    """The project's built CLI; `make setup` builds it."""
    bin_dir = ROOT / ".tools" / "bin"
    require((bin_dir / "pulumi").exists(), "the Pulumi toolchain is not built: run `make setup`")
    return bin_dir


@pytest.fixture()
def standalone_daemon():
    require_root_tools("lxd", "lxc", "unshare")
    from tests.support.standalone_lxd import standalone_lxd

    with standalone_lxd() as daemon:
        yield daemon
