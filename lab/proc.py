"""Running commands and owning daemons: every daemon the lab starts is recorded with its PID,
start time and a marker from its command line, and is only ever signalled after re-checking both.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cluster.polling import holds_within

log = logging.getLogger(__name__)



class LabError(RuntimeError):
    """A lab step failed; the message says what and where to look."""


def run(args: Sequence[str], *, timeout: float = 60, check: bool = True, input: str | bytes | None = None,
        env: Mapping[str, str] | None = None, capture: bool = True, cwd: str | Path | None = None,
        ) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout always, and an error that carries the command's stderr."""
    text = not isinstance(input, bytes)
    try:
        result = subprocess.run(list(args), timeout=timeout, input=input, env=dict(env) if env else None,
                                capture_output=capture, text=text, cwd=cwd)
    except subprocess.TimeoutExpired as error:
        raise LabError(f"timed out after {timeout}s: {' '.join(args[:6])}") from error
    if check and result.returncode != 0:
        err = result.stderr if capture else ""
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        raise LabError(f"{' '.join(args[:8])} exited {result.returncode}: {(err or '').strip()[-2000:]}")
    return result


# --- processes ----------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces/parens: the fields after the last ')' are well-formed
    return raw[raw.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_running(pid: int) -> bool:
    """True for a live process. A zombie counts as gone only once all its threads have exited:
    a multi-threaded daemon's leader turns Z first while other threads still hold its sockets."""
    fields = _stat_fields(pid)
    if not fields:
        return False
    if fields[0] not in ("Z", "X"):
        return True
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _reap(pid: int) -> None:
    """Collect the exit status if the daemon is our own child (in-process callers like pytest)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True)
class Daemon:
    """A process the lab started; `marker` is a string its command line must contain."""

    name: str
    pid: int
    started: int
    marker: str

    def alive(self) -> bool:
        _reap(self.pid)
        return (is_running(self.pid) and start_time(self.pid) == self.started
                and self.marker in cmdline(self.pid))

    def send(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, *, term_timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
        """TERM (or sig), wait, then KILL — only while it is still provably our process."""
        if not self.alive():
            return
        self.send(sig)
        if self.wait_gone(term_timeout):
            return
        log.info(f"{self.name} (pid {self.pid}) ignored signal {sig}; sending SIGKILL")
        if not self.gone():  # verified ours above; a dying process may already have lost its cmdline
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if not self.wait_gone(10):
            raise LabError(f"{self.name} (pid {self.pid}) survived SIGKILL")

    def gone(self) -> bool:
        """No longer running (a dying process loses its cmdline before its sockets: don't use alive())."""
        _reap(self.pid)
        return not is_running(self.pid) or start_time(self.pid) != self.started

    def wait_gone(self, timeout: float) -> bool:
        return holds_within(self.gone, timeout_s=timeout, poll_s=0.05)


class ProcessTable:
    """Pid files (JSON) under run_dir, one per daemon name."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def _path(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def get(self, name: str) -> Daemon | None:
        try:
            data = json.loads(self._path(name).read_text())
        except (OSError, ValueError):
            return None
        return Daemon(name, int(data["pid"]), int(data["started"]), data["marker"])

    def running(self, name: str) -> Daemon | None:
        daemon = self.get(name)
        return daemon if daemon and daemon.alive() else None

    def record(self, name: str, pid: int, marker: str) -> Daemon:
        started = start_time(pid)
        if started is None:
            raise LabError(f"{name} (pid {pid}) exited right after start")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._path(name).write_text(json.dumps({"pid": pid, "started": started, "marker": marker}))
        return Daemon(name, pid, started, marker)

    def forget(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        if not self.run_dir.is_dir():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.json"))

    def spawn(self, name: str, args: Sequence[str], *, marker: str, log_path: Path,
              env: Mapping[str, str] | None = None) -> Daemon:
        """Starts a daemon in its own session (it outlives the CLI), logging to log_path."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       start_new_session=True, env=dict(env) if env else None)
        # exec chains (nsenter -> env -> daemon) keep the PID; wait until the marker shows up
        def execed() -> bool:
            if process.poll() is not None:
                raise LabError(f"{name} exited with {process.returncode} at start; see {log_path}")
            return marker in cmdline(process.pid)

        if not holds_within(execed, timeout_s=10, poll_s=0.02):
            raise LabError(f"{name} (pid {process.pid}) did not exec its daemon; see {log_path}")
        process.returncode = 0  # we reap by PID ourselves; keep Popen from warning at GC
        return self.record(name, process.pid, marker)


@contextlib.contextmanager
def exclusive(lock_dir: Path, what: str, timeout: float = 600) -> Iterator[None]:
    """One lab operation (up/down) at a time. The lock is a flock on a directory that outlives the
    lab (the cache), so `down` leaves no lock file behind; a killed holder releases it at once."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        announced = []

        def locked() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not announced:
                    log.info(f"waiting for another lab operation to finish before {what}")
                    announced.append(what)
                return False

        if not holds_within(locked, timeout_s=timeout, poll_s=0.5):
            raise LabError(f"another lab operation holds the lock on {lock_dir}")
        yield
    finally:
        os.close(fd)
