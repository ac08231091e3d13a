"""Temporary directories that hold secrets (client keys, Ansible's key and extra vars, registry logins).

Each is 0700 and removed when its owner is done; a process killed before that (SIGKILL from the engine after
its 5 s grace, a CI timeout) leaves keys behind. The directory's name carries its creator's PID, and every new
one first removes those of its kind whose creator is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _creator(path: Path, prefix: str) -> int | None:
    pid = path.name.removeprefix(prefix).split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def sweep_orphans(prefix: str, root: Path | None = None) -> list[Path]:
    """Removes `prefix<pid>-*` directories of this user whose creating process no longer runs."""
    removed = []
    for path in (root or Path(tempfile.gettempdir())).glob(f"{prefix}*"):
        creator = _creator(path, prefix)
        try:
            ours = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if creator is None or not ours or _alive(creator):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def private_dir(prefix: str, root: Path | None = None) -> tempfile.TemporaryDirectory[str]:
    """A new 0700 directory `<prefix><pid>-<random>` (a context manager that removes it), after the sweep."""
    sweep_orphans(prefix, root)
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-", dir=root)
