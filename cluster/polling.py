"""The one bounded wait for a condition. Every wait for something the cluster, a lab daemon, a VIP
or a service will show goes through `wait_until`, so each is bounded in time (and, where asked, in
attempts), polls at a stated pace, and fails naming what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not hold within the bound; `what` names it."""

    def __init__(self, what: str, timeout_s: float, last: str = "") -> None:
        super().__init__(f"{what}: not so after {timeout_s:.0f}s" + (f" (last seen: {last})" if last else ""))
        self.what = what


def wait_until(check: Callable[[], T], *, timeout_s: float, what: str, poll_s: float = 0.5,
               not_yet: tuple[type[BaseException], ...] = (), attempts: int | None = None,
               sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None) -> T:
    """The first truthy value `check()` returns. A falsy value, or an exception of a `not_yet` type
    (a probe that fails while the thing restarts), means "ask again in `poll_s`"; any other exception
    is raised at once. After `timeout_s` (or `attempts` checks), WaitTimeout naming `what` and the last
    exception seen. `sleep` and `clock` (default: the time module's, looked up at each call) are for tests."""
    clock = clock or time.monotonic
    deadline = clock() + timeout_s
    last = ""
    asked = 0
    while True:
        asked += 1
        try:
            value = check()
            if value:
                return value
        except not_yet as error:
            last = f"{type(error).__name__}: {error}"[:200]
        if (attempts is not None and asked >= attempts) or clock() + poll_s > deadline:
            raise WaitTimeout(what, timeout_s, last)
        (sleep or time.sleep)(poll_s)


def holds_within(check: Callable[[], object], *, timeout_s: float, poll_s: float = 0.5,
                 not_yet: tuple[type[BaseException], ...] = ()) -> bool:
    """`wait_until` for a caller that goes on either way: True when `check()` held within `timeout_s`."""
    try:
        wait_until(check, timeout_s=timeout_s, poll_s=poll_s, what="condition", not_yet=not_yet)
        return True
    except WaitTimeout:
        return False
