"""Server daemons (LXD or Incus, lab/backend.py) in namespaces: a "holder" process per daemon keeps a private
mount namespace, inside the daemon's netns, whose /sys shows that netns (the daemon reads /sys/class/net)
while the host cgroup tree stays visible. Every mount of the daemon lives and dies with its holder.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pylxd

from cluster.connection import local_client, local_ready
from cluster.polling import WaitTimeout, wait_until
from lab.backend import Backend
from lab.net import NETNS_DIR
from lab.proc import Daemon, LabError, ProcessTable, run

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 3
RESTART_DELAY_S = 1.0  # between a daemon's exit and its next start (systemd's RestartSec is 100 ms)

HOLDER_SCRIPT = r"""
mount --move /sys/fs/cgroup "$1"
umount -l /sys
mount -t sysfs sysfs /sys
mount --move "$1" /sys/fs/cgroup
exec -a "lxdha-holder:$2" sleep infinity
"""


def daemon_client(lxd_dir: Path, timeout_s: float = 60.0) -> pylxd.Client:
    """A client of the daemon whose state directory is `lxd_dir`, over its unix socket."""
    return local_client(lxd_dir / "unix.socket", timeout_s)


def holder_marker(lxd_dir: Path) -> str:
    return f"lxdha-holder:{lxd_dir}"


def daemon_marker(backend: Backend, lxd_dir: Path) -> str:
    return f"--logfile {backend.log_file(lxd_dir)}"


def ensure_holder(table: ProcessTable, name: str, netns: str, lxd_dir: Path) -> Daemon:
    running = table.running(f"holder-{name}")
    if running:
        return running
    cg_tmp = table.run_dir / f"{name}.cg"
    cg_tmp.mkdir(parents=True, exist_ok=True)
    daemon = table.spawn(
        f"holder-{name}",
        ["nsenter", f"--net={NETNS_DIR / netns}", "--", "unshare", "--mount", "--propagation", "private",
         "--", "bash", "-ec", HOLDER_SCRIPT, "lxdha-holder", str(cg_tmp), str(lxd_dir)],
        marker=holder_marker(lxd_dir), log_path=table.run_dir / f"holder-{name}.log")
    return daemon


def start_daemon(table: ProcessTable, name: str, lxd_dir: Path, backend: Backend) -> Daemon:
    """Starts (or finds) the server daemon of `name` inside its holder; does not wait for readiness."""
    running = table.running(f"lxd-{name}")
    if running:
        return running
    holder = table.running(f"holder-{name}")
    if holder is None:
        raise LabError(f"no namespace holder for {name}; run `lab up`")
    lxd_dir.mkdir(parents=True, exist_ok=True)
    lxd_dir.chmod(0o711)
    return table.spawn(
        f"lxd-{name}", ["nsenter", "-t", str(holder.pid), "-m", "-n", "--", *backend.daemon_argv(lxd_dir)],
        marker=daemon_marker(backend, lxd_dir), log_path=lxd_dir / "daemon.out", env=backend.env(lxd_dir))


class DaemonExited(LabError):
    """The daemon ended while we waited for it to be ready."""


def wait_daemon_ready(table: ProcessTable, name: str, lxd_dir: Path, backend: Backend, timeout: float = 90) -> None:
    """Waits for `/internal/ready` (what `waitready` polls), failing fast if the daemon died."""
    def ready() -> bool:
        if table.running(f"lxd-{name}") is None:
            raise DaemonExited(f"{backend.name} daemon {name} exited while starting: "
                               f"{startup_log_tail(lxd_dir, backend)} (see {lxd_dir}/daemon.out and "
                               f"{backend.log_file(lxd_dir).name})")
        return local_ready(lxd_dir / "unix.socket")

    try:
        wait_until(ready, timeout_s=timeout, poll_s=0.2, what=f"{backend.name} {name} ready")
    except WaitTimeout as error:
        raise LabError(f"{error}; see {backend.log_file(lxd_dir)}") from None


def start_until_ready(table: ProcessTable, name: str, lxd_dir: Path, backend: Backend, timeout: float = 90) -> None:
    """Starts the daemon (unless it runs) and waits until it is ready; a daemon that exits while
    starting is started again, at most STARTUP_ATTEMPTS times within `timeout`, as the packaged
    unit's `Restart=on-failure` does on a real host (seen once: a member restarted right after two
    others exited ~3 s into its start, cause unknown). Each exit is reported with the daemon's last words."""
    deadline = time.monotonic() + timeout
    for attempt in range(1, STARTUP_ATTEMPTS + 1):
        start_daemon(table, name, lxd_dir, backend)
        try:
            wait_daemon_ready(table, name, lxd_dir, backend, timeout=max(1.0, deadline - time.monotonic()))
            return
        except DaemonExited as exited:
            if attempt == STARTUP_ATTEMPTS or time.monotonic() >= deadline:
                raise
            log.info("%s; starting it again (%d/%d), as its service manager would", exited, attempt + 1,
                     STARTUP_ATTEMPTS)
            time.sleep(RESTART_DELAY_S)


def startup_log_tail(lxd_dir: Path, backend: Backend, lines: int = 3) -> str:
    """The last lines the daemon wrote to stderr (daemon.out, where a fatal start error goes) and its
    last real error in its log (haproxy's health checks hanging up leave noise there)."""
    def tail(path: Path, keep: Callable[[str], bool]) -> list[str]:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return []
        return [line.strip() for line in text.splitlines() if line.strip() and keep(line)][-lines:]

    words = tail(lxd_dir / "daemon.out", lambda _line: True)
    words += tail(backend.log_file(lxd_dir),
                  lambda line: "level=error" in line and "Failed writing error" not in line)[-1:]
    return " | ".join(words)[-1500:] or "no output"


def shutdown_daemon(table: ProcessTable, name: str, lxd_dir: Path, backend: Backend, timeout: float = 60) -> None:
    """`shutdown` (stops its instances cleanly), falling back to TERM/KILL of its own PID."""
    daemon = table.get(f"lxd-{name}")
    if daemon is None or not daemon.alive():
        table.forget(f"lxd-{name}")
        return
    run(backend.shutdown_argv(int(timeout)), env=backend.env(lxd_dir), timeout=timeout + 10, check=False)
    if not daemon.wait_gone(5):
        daemon.stop(term_timeout=10)
    table.forget(f"lxd-{name}")


def kill_daemon(table: ProcessTable, name: str) -> int:
    """SIGKILL the daemon (its containers keep running, as after a crash); returns the PID."""
    daemon = table.running(f"lxd-{name}")
    if daemon is None:
        raise LabError(f"the server daemon of {name} is not running")
    daemon.send(signal.SIGKILL)
    if not daemon.wait_gone(10):
        raise LabError(f"the server daemon of {name} (pid {daemon.pid}) survived SIGKILL")
    return daemon.pid


def daemon_alive(table: ProcessTable, name: str) -> bool:
    return table.running(f"lxd-{name}") is not None


def reset_daemon(table: ProcessTable, name: str, netns: str, lxd_dir: Path, backend: Backend) -> None:
    """Wipes a daemon whose initialisation was interrupted (neither server can redo a half-done bootstrap
    or join): stop it and its holder (its mounts go with the holder), remove its dir, start afresh."""
    shutdown_daemon(table, name, lxd_dir, backend, timeout=20)
    holder = table.get(f"holder-{name}")
    if holder:
        holder.stop(term_timeout=3)
    table.forget(f"holder-{name}")
    run(["rm", "-rf", "--one-file-system", str(lxd_dir)], timeout=120)
    ensure_holder(table, name, netns, lxd_dir)
    start_until_ready(table, name, lxd_dir, backend)
