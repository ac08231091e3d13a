"""One cluster read shared by the many callers that ask for it at the same moment.

A refresh reads every resource at once: at 30 containers that was 60 member listings and 60 instance
reads arriving together at an LXD that shares two cores with its members, each answered on its own.
Here the first caller reads; callers that arrive while that read is in flight, or within `max_age_s`
after it, get the same answer. A failed read is not kept (the next caller reads again), and a
provider that changes the cluster forgets what it read (`forget`), so no one is told what was true
before its own change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None
    read_at: float | None = None
    generation: int = 0


class RecentReads:
    """Per-key single-flight reads whose answers are reused for `max_age_s` seconds."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._guard = threading.Lock()
        self._generation = 0

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """The answer of `read()`, shared with whoever asked for `key` in the last `max_age_s` seconds."""
        with self._guard:
            entry = self._entries.setdefault(key, _Entry())
        with entry.lock:  # a caller arriving during a read waits for it instead of reading again
            with self._guard:
                fresh = (entry.read_at is not None and entry.generation == self._generation
                         and self._clock() - entry.read_at <= self.max_age_s)
                generation = self._generation
            if fresh:
                return entry.value
            value = read()
            entry.value, entry.read_at, entry.generation = value, self._clock(), generation
            return value

    def forget(self) -> None:
        """Every kept answer is stale from now on (this process changed the cluster)."""
        with self._guard:
            self._generation += 1
