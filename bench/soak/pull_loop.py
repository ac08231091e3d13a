"""A registry client pulling known images through the VIP in a loop, recording every pull.

As a real client would, it retries a failed pull once after a short pause; a pull that fails twice is a
failed pull. Each pull is attributed to the roll in progress when it started (`roll`, set by the runner).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ops.registry_client import Skopeo

RETRY_PAUSE_S = 1.0
PULL_INTERVAL_S = 0.5
MAX_LOOP_S = 4 * 3600  # the loop never outlives this, even if its owner forgets to stop it


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    digest: str


@dataclass(frozen=True)
class Pull:
    at_s: float  # when it started, seconds since the loop started
    seconds: float
    tag: str
    outcome: str  # "ok", "retried" (the retry succeeded) or "failed" (both attempts failed)
    roll: int | None
    error: str = ""


def pull_error(skopeo: Skopeo, image: Image, destination: Path) -> str | None:
    """Pulls `image` into a fresh OCI layout; None when its manifest digest is the one pushed."""
    shutil.rmtree(destination, ignore_errors=True)
    result = skopeo.pull(image.repository, image.tag, destination)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        return (lines[-1] if lines else f"skopeo exited {result.returncode}")[-300:]
    digest = json.loads((destination / "index.json").read_text())["manifests"][0]["digest"]
    return None if digest == image.digest else f"pulled manifest {digest}, pushed {image.digest}"


class PullLoop:
    """Background pulls, round-robin over `images`, until stopped."""

    def __init__(self, skopeo: Skopeo, images: list[Image], work_dir: Path) -> None:
        self.skopeo, self.images, self.work_dir = skopeo, images, work_dir
        self.roll: int | None = None
        self.pulls: list[Pull] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pull-loop", daemon=True)
        self.started = time.monotonic()  # the soak's clock: every at_s counts from here

    def _attempt(self, image: Image) -> str | None:
        try:
            return pull_error(self.skopeo, image, self.work_dir / "pulled")
        except Exception as error:  # noqa: BLE001 - a timeout or a broken layout is a failed attempt
            return f"{type(error).__name__}: {error}"[-300:]

    def _loop(self) -> None:
        index = 0
        while not self._stop.is_set() and time.monotonic() - self.started < MAX_LOOP_S:
            image = self.images[index % len(self.images)]
            index += 1
            roll, began = self.roll, time.monotonic()
            error = self._attempt(image)
            outcome = "ok"
            if error is not None:
                time.sleep(RETRY_PAUSE_S)
                second = self._attempt(image)
                outcome = "retried" if second is None else "failed"
                error = error if second is None else second
            self.pulls.append(Pull(round(began - self.started, 2), round(time.monotonic() - began, 2), image.tag,
                                   outcome, roll, error or ""))
            self._stop.wait(PULL_INTERVAL_S)

    def start(self) -> PullLoop:
        self._thread.start()
        return self

    def stop(self) -> list[Pull]:
        self._stop.set()
        self._thread.join(timeout=2 * 120 + 10)  # at most one pull and its retry are in flight
        return self.pulls

    def of_roll(self, roll: int) -> list[Pull]:
        return [p for p in list(self.pulls) if p.roll == roll]


def as_dicts(pulls: list[Pull]) -> list[dict]:
    return [asdict(p) for p in pulls]
