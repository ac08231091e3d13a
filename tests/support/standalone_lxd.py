"""One real LXD daemon on loopback, for tests that need LXD but not a cluster.

It runs in a private mount namespace (its mounts vanish with it), is stopped with `lxd shutdown`
and, failing that, by its own PID only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cluster.connection import normalize_fingerprint
from cluster.polling import holds_within


@dataclass(frozen=True)
class StandaloneLxd:
    url: str
    lxd_dir: Path
    fingerprint: str
    trust_password: str
    pid: int


def _lxd_env(lxd_dir: Path) -> dict[str, str]:
    return {**os.environ, "LXD_DIR": str(lxd_dir)}


def _preseed(address: str, password: str) -> str:
    return (
        "config:\n"
        f"  core.https_address: {address}\n"
        f"  core.trust_password: {password}\n"
        "  images.auto_update_interval: 0\n"
    )


def _fingerprint(lxd_dir: Path) -> str:
    info = subprocess.run(["lxc", "info"], env=_lxd_env(lxd_dir), capture_output=True, text=True,
                          check=True, timeout=30).stdout
    for line in info.splitlines():
        if "certificate_fingerprint:" in line:
            return normalize_fingerprint(line.split(":", 1)[1])
    raise RuntimeError("lxc info printed no certificate_fingerprint")


def _stop(lxd_dir: Path, pid: int) -> None:
    subprocess.run(["lxd", "shutdown", "--timeout", "20"], env=_lxd_env(lxd_dir), capture_output=True,
                   timeout=30, check=False)
    if not holds_within(lambda: subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0,
                        timeout_s=10, poll_s=0.2):
        os.kill(pid, signal.SIGKILL)


@contextmanager
def standalone_lxd(port: int = 18443) -> Iterator[StandaloneLxd]:
    lxd_dir = Path(tempfile.mkdtemp(prefix="lxdha-standalone-"))
    lxd_dir.chmod(0o711)
    password = secrets.token_hex(12)
    log = open(lxd_dir / "daemon.out", "w")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "--", "lxd", "--group", "root",
         "--logfile", str(lxd_dir / "lxd.log")],
        env=_lxd_env(lxd_dir), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )
    try:
        subprocess.run(["lxd", "waitready", "--timeout", "60"], env=_lxd_env(lxd_dir), check=True, timeout=70)
        subprocess.run(["lxd", "init", "--preseed"], input=_preseed(f"127.0.0.1:{port}", password),
                       env=_lxd_env(lxd_dir), text=True, check=True, timeout=60, capture_output=True)
        yield StandaloneLxd(f"https://127.0.0.1:{port}", lxd_dir, _fingerprint(lxd_dir), password, process.pid)
    finally:
        _stop(lxd_dir, process.pid)
        process.wait(timeout=15)
        log.close()
        shutil.rmtree(lxd_dir, ignore_errors=True)
