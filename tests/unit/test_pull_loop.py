"""The pull loop with a fake check: no registry, no network, pauses of a millisecond."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from typing import Any

import pytest

from harness.pull_loop import PullLoop
from harness.registry_client import Image

IMAGES = [Image("r", "a", "sha256:aa"), Image("r", "b", "sha256:bb")]
FAST = {"interval_s": 0.001, "retry_pause_s": 0.001, "max_s": 30.0, "join_s": 5.0}


class Script:
    """A check answering from a script (None: ok, a string: an error, an exception: raised), then ok;
    `done` is set once `until` attempts have been made."""

    def __init__(self, answers: list[Any], until: int) -> None:
        self.answers, self.until = list(answers), until
        self.seen: list[str] = []
        self.done = threading.Event()

    def __call__(self, image: Image) -> str | None:
        self.seen.append(image.tag)
        if len(self.seen) >= self.until:
            self.done.set()
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer


def _run(script: Script, images: list[Image] = IMAGES, **bounds: float) -> PullLoop:
    with PullLoop(images, script, **{**FAST, **bounds}) as loop:
        assert script.done.wait(5), "the loop never made the attempts scripted"
    return loop


def test_pulls_round_robin_and_all_ok() -> None:
    loop = _run(Script([], until=4))
    assert [p.image.tag for p in loop.pulls[:4]] == ["a", "b", "a", "b"]
    assert {p.outcome for p in loop.pulls} == {"ok"} and {p.error for p in loop.pulls} == {""}
    assert loop.retried == 0 and loop.failed == []


def test_a_failed_first_attempt_is_retried_once_and_keeps_its_error() -> None:
    loop = _run(Script(["manifest unknown"], until=3))
    first = loop.pulls[0]
    assert (first.image.tag, first.outcome, first.error) == ("a", "retried", "manifest unknown")
    assert [p.image.tag for p in loop.pulls[:2]] == ["a", "b"], "the retry is part of the pull, not one of its own"
    assert loop.retried == 1 and loop.failed == []


def test_a_pull_whose_retry_fails_too_is_failed_with_the_retrys_error() -> None:
    loop = _run(Script(["first", "second"], until=3))
    assert [(p.outcome, p.error) for p in loop.failed] == [("failed", "second")]
    assert loop.retried == 1
    summary = loop.summary()
    assert (summary["pulls"], summary["retried"], summary["failed"]) == (len(loop.pulls), 1, 1)
    assert re.fullmatch(r"r:a at \d\d:\d\d:\d\d", summary["failed_pulls"][0])
    assert summary["slowest_pull_s"] == max(p.seconds for p in loop.pulls)
    json.dumps(summary)


def test_an_exception_is_a_failed_attempt_and_the_loop_goes_on() -> None:
    loop = _run(Script([subprocess.TimeoutExpired(["skopeo"], 120), RuntimeError("broken layout")], until=5))
    assert loop.pulls[0].outcome == "failed" and loop.pulls[0].error == "RuntimeError: broken layout"
    assert len(loop.pulls) >= 2 and loop.pulls[1].outcome == "ok"


def test_each_pull_carries_the_phase_in_progress_when_it_started() -> None:
    phase_two = threading.Event()
    calls: list[int | None] = []

    def check(_image: Image) -> None:
        calls.append(loop.phase)
        if len(calls) == 3:
            loop.phase = 2
            phase_two.set()

    loop = PullLoop(IMAGES, check, **FAST)
    loop.phase = 1
    with loop:
        assert phase_two.wait(5)
        deadline = time.monotonic() + 5
        while not any(p.phase == 2 for p in loop.pulls) and time.monotonic() < deadline:
            time.sleep(0.001)
    assert [p.phase for p in loop.pulls[:3]] == [1, 1, 1]
    assert loop.of_phase(2) and all(p.phase == 2 for p in loop.of_phase(2))
    assert len(loop.of_phase(1)) + len(loop.of_phase(2)) == len(loop.pulls)


def test_stop_lets_the_pull_in_flight_finish_with_its_retry() -> None:
    in_retry_pause = threading.Event()

    def check(_image: Image) -> str | None:
        if not in_retry_pause.is_set():
            in_retry_pause.set()
            return "cut off"
        return None

    loop = PullLoop(IMAGES, check, **{**FAST, "retry_pause_s": 0.05}).start()
    assert in_retry_pause.wait(5)
    pulls = loop.stop()  # during the retry's pause
    assert [(p.outcome, p.error) for p in pulls] == [("retried", "cut off")]


def test_the_loop_ends_by_itself_after_max_s() -> None:
    loop = PullLoop(IMAGES, lambda _image: None, **{**FAST, "interval_s": 0.005, "max_s": 0.03}).start()
    loop._thread.join(timeout=5)
    assert not loop._thread.is_alive() and loop.pulls
    assert all(p.at_s <= 0.03 + 0.01 for p in loop.pulls)


def test_times_count_from_the_start() -> None:
    loop = _run(Script([], until=3), interval_s=0.01)
    starts = [p.at_s for p in loop.pulls]
    assert starts == sorted(starts) and 0 <= starts[0] < 1 and starts[-1] < 5
    assert all(p.seconds >= 0 for p in loop.pulls)


def test_no_images_is_refused() -> None:
    with pytest.raises(ValueError):
        PullLoop([], lambda _image: None, **FAST)
