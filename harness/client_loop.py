"""A client acting in a background thread, one step every `interval_s`, while a test or benchmark
disturbs the service (a roll, a fault, a migration): what its steps saw is what a real client would have.

`max_s` bounds a loop whose owner forgets to stop it; `join_s` bounds the wait in `stop` for the step in
flight, which otherwise completes: no step fails because the owner stopped.
"""

from __future__ import annotations

import threading
import time
from typing import Self


class ClientLoop:
    """Runs `step()` until stopped or `max_s` after `start()`; subclasses say what one step does."""

    def __init__(self, *, interval_s: float, max_s: float, join_s: float, name: str) -> None:
        self.interval_s, self.max_s, self.join_s = interval_s, max_s, join_s
        self.started = time.monotonic()  # reset by start(): steps time themselves from there
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def step(self) -> None:
        raise NotImplementedError

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 2)

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() - self.started < self.max_s:
            self.step()
            self._stop.wait(self.interval_s)

    def start(self) -> Self:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def stop_loop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop_loop()
