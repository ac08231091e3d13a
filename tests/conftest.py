"""Shared pytest set-up: markers, and the rule that CI never skips a real-system test."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally when a prerequisite is missing; in CI that is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def require_root_tools(*tools: str) -> None:
    require(os.geteuid() == 0, "needs root (LXD daemons, network namespaces)")
    for tool in tools:
        require(shutil.which(tool) is not None, f"{tool} not on PATH: run `make setup`")
