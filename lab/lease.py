"""One user of the lab at a time: a test session, a soak, a benchmark, the demo, `lab up` or `lab down`.

The lab is one set of namespaces, daemons and addresses on the machine. A second user that brings it
"up" while another works on it, or a test session that takes it down at its end, pulls the lab from
under the first (seen: a `make test` started during a soak re-ran the lab's bring-up and took the lab
down mid-roll). A session therefore holds a lease for as long as it uses the lab; a second one is
refused at once, naming the holder.

The lease is a flock on a file in the cache directory (it outlives the lab, so `lab down` leaves
nothing behind; a killed holder releases it at once). The holder's children (the demo's `lab up`, a
test's `python -m lab down`) run inside its lease: the environment variable says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from lab.proc import LabError

LEASE_ENV = "LXDHA_LAB_SESSION"
LEASE_FILE = "lab-session.lock"


def lease_path(cache_dir: Path) -> Path:
    return cache_dir / LEASE_FILE


@contextlib.contextmanager
def lab_session(cache_dir: Path, who: str) -> Iterator[None]:
    """Holds the lab for the block; raises LabError naming the holder when someone else has it."""
    if os.environ.get(LEASE_ENV):
        yield  # this process or one of its parents holds the lease
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lease_path(cache_dir), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            raise LabError(f"the lab is in use by {holder}; wait until it ends (or stop it), then run this "
                           "again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{who} (pid {os.getpid()})".encode(), 0)
        os.environ[LEASE_ENV] = str(os.getpid())
        try:
            yield
        finally:
            os.environ.pop(LEASE_ENV, None)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
