"""One read answers the callers that arrive together; answers age out, a change forgets them, and a
failed read is never kept."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cluster.recent_reads import RecentReads
from tests.support.fake_clock import FakeClock


def test_callers_arriving_during_a_read_share_it() -> None:
    reads, started, release = [], threading.Event(), threading.Event()

    def slow_read() -> list[str]:
        reads.append(1)
        started.set()
        release.wait(5)
        return ["m1", "m2"]

    recent = RecentReads(max_age_s=2.0)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(recent.get, "members", slow_read)
        assert started.wait(5)
        others = [pool.submit(recent.get, "members", slow_read) for _ in range(7)]
        release.set()
        answers = [first.result(5)] + [other.result(5) for other in others]
    assert len(reads) == 1 and all(answer == ["m1", "m2"] for answer in answers)


def test_an_answer_is_reused_until_it_is_older_than_max_age() -> None:
    clock, reads = FakeClock(), []
    recent = RecentReads(max_age_s=2.0, clock=clock)
    read = lambda: reads.append(1) or len(reads)  # noqa: E731
    assert recent.get("k", read) == 1
    clock.now += 2.0
    assert recent.get("k", read) == 1
    clock.now += 0.1
    assert recent.get("k", read) == 2
    assert recent.get("other", read) == 3  # keys are separate


def test_forget_makes_every_kept_answer_stale() -> None:
    reads = []
    recent = RecentReads(max_age_s=60.0)
    read = lambda: reads.append(1) or len(reads)  # noqa: E731
    assert recent.get("k", read) == 1
    recent.forget()
    assert recent.get("k", read) == 2 and recent.get("k", read) == 2


def test_a_read_that_began_before_a_change_is_not_reused_after_it() -> None:
    recent = RecentReads(max_age_s=60.0)

    def read_during_a_change() -> str:
        recent.forget()  # the provider's own change finished while this listing was being read
        return "before the change"

    assert recent.get("k", read_during_a_change) == "before the change"
    assert recent.get("k", lambda: "after the change") == "after the change"


def test_a_failed_read_is_not_kept() -> None:
    recent = RecentReads(max_age_s=60.0)

    def broken() -> str:
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError):
        recent.get("k", broken)
    assert recent.get("k", lambda: "read again") == "read again"
