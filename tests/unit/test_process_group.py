"""A timed-out or interrupted command takes its whole process group with it (no orphaned plugins)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cluster.polling import holds_within
from toolchain.process_group import run_in_group


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_output_and_exit_code_come_back() -> None:
    done = run_in_group(["sh", "-c", "echo out; echo err >&2; exit 3"], Path("."), dict(os.environ), 10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_timeout_stops_the_children_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # the child ignores SIGINT, like a plugin stuck in a call: the SIGKILL after the grace ends it
    script = f"sh -c 'trap \"\" INT; sleep 30' & echo $! > {pid_file}; wait"
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_group(["sh", "-c", script], tmp_path, dict(os.environ), timeout_s=1, grace_s=1)
    child = int(pid_file.read_text())
    # the group was killed, not waited out: the child (30 s of sleep) is gone long before it would end itself
    assert holds_within(lambda: not _alive(child), timeout_s=5, poll_s=0.1)


def test_input_reaches_the_command_on_stdin_only() -> None:
    done = run_in_group(["sh", "-c", "cat; echo \" $#\""], Path("."), dict(os.environ), 10, stdin="s3cret")
    assert done.stdout == "s3cret 0\n"  # read from stdin; no argument carried it
