"""Shared pytest set-up: markers, and the rule that CI never skips a real-system test."""

from __future__ import annotations

import os
import shutil

from lab.pytest_plugin import lab_prerequisite as prerequisite

require = prerequisite  # skip locally, fail in CI (one rule for every real-system test)


def require_root_tools(*tools: str) -> None:
    require(os.geteuid() == 0, "needs root (LXD daemons, network namespaces)")
    for tool in tools:
        require(shutil.which(tool) is not None, f"{tool} not on PATH: run `make setup`")
