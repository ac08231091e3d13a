"""Runs callables on threads at once, as the dynamic-provider host does with concurrent requests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(*jobs: Callable[[], None], timeout_s: float = 10) -> list[BaseException]:
    """Starts every job on its own thread, waits for all; returns what they raised."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # noqa: BLE001 - collected for the test
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    return errors
