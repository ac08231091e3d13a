"""Race-free placement across parallel creates: decisions are taken under a file lock and kept as
reservations until the instance is visible in LXD (or the reservation expires after a crash)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

RESERVATION_TTL_S = 900


def _state_dir() -> Path:
    base = Path(os.environ.get("LXDHA_CACHE", Path.home() / ".cache" / "lxdha"))
    path = base / "placement"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ReservationBook:
    """Pending placements for one cluster, in a JSON file next to its lock file."""

    def __init__(self, cluster_key: str) -> None:
        digest = hashlib.sha256(cluster_key.encode()).hexdigest()[:16]
        self._lock_path = _state_dir() / f"{digest}.lock"
        self._book_path = _state_dir() / f"{digest}.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[ReservationBook]:
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict[str, dict]:
        try:
            entries = json.loads(self._book_path.read_text())
        except (OSError, ValueError):
            return {}
        now = time.time()
        return {name: e for name, e in entries.items() if now - e.get("at", 0) < RESERVATION_TTL_S}

    def _save(self, entries: dict[str, dict]) -> None:
        tmp = self._book_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self._book_path)

    def pending(self, exclude: set[str]) -> list[tuple[str, str | None]]:
        """(member, group) of reservations whose instance LXD does not list yet."""
        return [(e["member"], e.get("group")) for name, e in self._load().items() if name not in exclude]

    def reserve(self, instance: str, member: str, group: str | None) -> None:
        entries = self._load()
        entries[instance] = {"member": member, "group": group, "at": time.time()}
        self._save(entries)

    def release(self, instance: str) -> None:
        with self.locked():
            entries = self._load()
            if entries.pop(instance, None) is not None:
                self._save(entries)
