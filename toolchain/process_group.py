"""Runs a command in its own process group, so stopping it also stops what it started.

`pulumi` starts a language host, the program and provider plugins. Killing only the CLI (what
`subprocess.run` does on a timeout or Ctrl-C) leaves those running and the stack locked; asking the
whole group to cancel first lets the engine record what it finished.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

CANCEL_GRACE_S = 60.0


def stop_group(process: subprocess.Popen, grace_s: float = CANCEL_GRACE_S) -> None:
    """SIGINT to the group (pulumi cancels gracefully), then SIGKILL whatever is left after `grace_s`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # plugins that outlived the CLI
    process.wait()


def run_in_group(cmd: Sequence[str], cwd: Path, env: dict[str, str], timeout_s: float,
                 grace_s: float = CANCEL_GRACE_S, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Like `subprocess.run(capture_output=True, text=True)`, but a timeout or an interrupt
    (KeyboardInterrupt, SIGTERM turned into one) stops the whole group before it propagates. `stdin`
    is written to the command's standard input (a secret value, which must not be an argument)."""
    with subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                          text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(input=stdin, timeout=timeout_s)
        except BaseException:
            stop_group(process, grace_s)
            raise
    return subprocess.CompletedProcess(list(cmd), process.returncode, stdout, stderr)
