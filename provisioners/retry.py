"""Bounded retries for the transient failures of an LXD cluster (dqlite, member loss, leader change).

Only errors known to be transient are retried; anything else is a real error and surfaces at once.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import requests

T = TypeVar("T")

# Messages LXD returns while the cluster database or a member is briefly unavailable.
TRANSIENT_MESSAGES = (
    "database is locked",
    "database is busy",
    "no available dqlite leader",
    "not leader",
    "leadership lost",
    "failed to begin transaction",
    "cluster is not fully upgraded",
    "is offline",
    "connection refused",
    "connection reset",
    "broken pipe",
    "eof",
    "i/o timeout",
    "service unavailable",
    "context deadline exceeded",
    "checkpoint in progress",
    "lxd is shutting down",
    "missing event connection with target cluster member",
)


def is_transient(error: BaseException) -> bool:
    """True when retrying the same call later may succeed."""
    if isinstance(error, requests.exceptions.SSLError):
        return False  # a certificate/pin mismatch does not heal by waiting
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return True
    message = str(error).lower()
    return any(fragment in message for fragment in TRANSIENT_MESSAGES)


def backoff_delays(attempts: int, base_s: float = 1.0, cap_s: float = 8.0) -> list[float]:
    """Exponential delays with full jitter, one per retry (attempts - 1 of them)."""
    return [random.uniform(0, min(cap_s, base_s * 2**i)) for i in range(max(attempts - 1, 0))]


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = 8,  # full-jitter delays up to 1+2+4+8x4 s: rides out a member restart
    deadline_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying transient errors with bounded backoff (count and time)."""
    started = time.monotonic()
    delays = backoff_delays(attempts)
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - classified below, re-raised when real
            last_try = attempt == attempts - 1 or time.monotonic() - started > deadline_s
            if last_try or not is_transient(error):
                raise
            delay = delays[attempt]
            print(f"retrying {what} in {delay:.1f}s after transient error: {error}", file=sys.stderr)
            sleep(delay)
    raise AssertionError("unreachable")
