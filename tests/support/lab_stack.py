"""Test helpers for throw-away lab stacks (see harness/lab_stacks.py), plus SSH into their containers."""

from __future__ import annotations

import subprocess

from harness.lab_stacks import lab_stack, set_config, stack_config
from toolchain.pulumi_cli import ROOT, change_counts

__all__ = ["change_counts", "lab_stack", "set_config", "ssh_run", "stack_config"]


def ssh_run(address: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs `command` as root over SSH with the lab key (the test checks reachability, not host keys)."""
    key = ROOT / ".state" / "ssh" / "id_ed25519"
    return subprocess.run(["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                           f"root@{address}", command],
                          capture_output=True, text=True, timeout=timeout, check=False)
