"""A client pulling known images through a registry in a background thread, recording every pull.

As a real client would, it retries a failed pull once after a short pause; a pull that fails twice is a
failed pull. What one pull does (a full pull, an inspect) is the `check` passed in, so the loop itself needs
no registry and is tested without one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.client_loop import ClientLoop
from harness.registry_client import Image, error_line

RETRY_PAUSE_S = 1.0

Check = Callable[[Image], str | None]  # one attempt: None when the image pulled as pushed, else why not


@dataclass(frozen=True)
class Pull:
    """One pull and, when its first attempt failed, its retry."""

    image: Image
    at_s: float  # when it started, seconds since the loop started (0.01 s)
    seconds: float  # first attempt to the end of the retry (0.01 s)
    outcome: str  # "ok", "retried" (the retry succeeded) or "failed" (both attempts failed)
    phase: int | None  # the owner's `phase` when the pull started (the soak's roll)
    error: str  # the failed attempt's error ("" when ok); of the retry when both failed
    ended: float  # wall clock (time.time()) at its end: failures are read against other logs

    def describe(self) -> str:
        """`repository:tag at HH:MM:SS` (local time of its end)."""
        return f"{self.image.repository}:{self.image.tag} at {time.strftime('%H:%M:%S', time.localtime(self.ended))}"


def pull_with_retry(check: Check, image: Image, *, clock_zero: float, phase: int | None = None,
                    retry_pause_s: float = RETRY_PAUSE_S) -> Pull:
    """One pull as a real client makes it: an attempt and, when it fails, one retry after a short pause."""
    began = time.monotonic()
    error = _attempt(check, image)
    outcome = "ok"
    if error is not None:
        time.sleep(retry_pause_s)  # not cut short by a stop: the retry is part of the pull
        second = _attempt(check, image)
        outcome = "retried" if second is None else "failed"
        error = error if second is None else second
    return Pull(image, round(began - clock_zero, 2), round(time.monotonic() - began, 2), outcome, phase, error or "",
                time.time())


def _attempt(check: Check, image: Image) -> str | None:
    try:
        return check(image)
    except Exception as error:  # noqa: BLE001 - whatever one attempt raises is a failed attempt, not a dead loop
        return error_line(error)


class PullLoop(ClientLoop):
    """Pulls `images` round-robin, one every `interval_s`, until stopped or `max_s` after its start."""

    def __init__(self, images: Sequence[Image], check: Check, *, interval_s: float, max_s: float, join_s: float,
                 retry_pause_s: float = RETRY_PAUSE_S) -> None:
        if not images:
            raise ValueError("a pull loop needs at least one image")
        super().__init__(interval_s=interval_s, max_s=max_s, join_s=join_s, name="pull-loop")
        self.images, self.check, self.retry_pause_s = list(images), check, retry_pause_s
        self.phase: int | None = None
        self.pulls: list[Pull] = []

    def step(self) -> None:
        image = self.images[len(self.pulls) % len(self.images)]
        self.pulls.append(pull_with_retry(self.check, image, clock_zero=self.started, phase=self.phase,
                                          retry_pause_s=self.retry_pause_s))

    def stop(self) -> list[Pull]:
        self.stop_loop()
        return list(self.pulls)

    @property
    def retried(self) -> int:
        """Pulls whose first attempt failed, whatever their retry did (outcome "retried" or "failed")."""
        return sum(1 for p in list(self.pulls) if p.outcome != "ok")

    @property
    def failed(self) -> list[Pull]:
        return [p for p in list(self.pulls) if p.outcome == "failed"]

    def of_phase(self, phase: int) -> list[Pull]:
        return [p for p in list(self.pulls) if p.phase == phase]

    def summary(self) -> dict[str, Any]:
        """The figures as JSON: counts, each failed pull as `repository:tag at HH:MM:SS`, the slowest pull."""
        pulls = list(self.pulls)
        failed = [p for p in pulls if p.outcome == "failed"]
        return {"pulls": len(pulls), "retried": sum(1 for p in pulls if p.outcome != "ok"), "failed": len(failed),
                "failed_pulls": [p.describe() for p in failed],
                "slowest_pull_s": round(max((p.seconds for p in pulls), default=0.0), 2)}
