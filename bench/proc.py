"""Bounded subprocesses: a step that hangs is killed with everything it started, never left running."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_bounded(argv: list[str], *, timeout: float, env: dict[str, str] | None = None,
                cwd: str | None = None) -> Finished:
    """Runs argv in its own process group; on timeout the whole group (only ours) is killed."""
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=30)
        return Finished(-9, stdout, stderr + f"\ntimed out after {timeout:.0f}s: {' '.join(argv[:3])}")
    except KeyboardInterrupt:  # interrupted benchmark: nothing we started keeps running
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        raise
    return Finished(process.returncode, stdout, stderr)
