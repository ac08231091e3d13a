"""Progress lines on stderr (stdout is kept for results a caller may parse)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_START = time.monotonic()


def say(message: str) -> None:
    # one write per line: steps run in threads and must not interleave mid-line
    sys.stderr.write(f"[lab {time.monotonic() - _START:7.1f}s] {message}\n")
    sys.stderr.flush()


@contextmanager
def step(label: str) -> Iterator[None]:
    """Logs a step with its wall time, so slow steps are visible in every run."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{label}: FAILED after {time.monotonic() - started:.1f}s")
        raise
    say(f"{label}: {time.monotonic() - started:.1f}s")
