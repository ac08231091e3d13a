"""The one bounded wait: the first truthy answer, "not yet" errors ridden out, real errors at once,
bounded in time and in attempts, naming what it waited for."""

from __future__ import annotations

import pytest

from cluster.polling import WaitTimeout, holds_within, wait_until
from tests.support.fake_clock import FakeClock


def test_returns_the_first_truthy_answer_and_rides_out_not_yet_errors() -> None:
    answers = iter([ConnectionError("restarting"), None, "10.91.0.101"])

    def probe() -> str | None:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = FakeClock()
    assert wait_until(probe, timeout_s=10, what="an address", not_yet=(ConnectionError,), sleep=clock.sleep,
                      clock=clock) == "10.91.0.101"
    assert clock.now == 1.0  # two pauses of poll_s


def test_other_errors_surface_at_once() -> None:
    def probe() -> bool:
        raise PermissionError("certificate refused")

    clock = FakeClock()
    with pytest.raises(PermissionError):
        wait_until(probe, timeout_s=10, what="x", not_yet=(ConnectionError,), sleep=clock.sleep, clock=clock)
    assert clock.now == 0.0


def test_bounded_in_time_and_in_attempts_naming_what_and_the_last_error() -> None:
    clock = FakeClock()

    def probe() -> bool:
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout) as by_time:
        wait_until(probe, timeout_s=5, poll_s=1, what="member m2 ONLINE", not_yet=(ConnectionError,),
                   sleep=clock.sleep, clock=clock)
    assert str(by_time.value) == "member m2 ONLINE: not so after 5s (last seen: ConnectionError: refused)"
    assert clock.now == 5.0
    counted: list[int] = []
    with pytest.raises(WaitTimeout):
        wait_until(lambda: counted.append(1), timeout_s=1e9, poll_s=1, what="x", attempts=3, sleep=clock.sleep,
                   clock=clock)
    assert len(counted) == 3


def test_holds_within_answers_instead_of_raising() -> None:
    assert holds_within(lambda: True, timeout_s=1)
    assert not holds_within(lambda: False, timeout_s=0.05, poll_s=0.01)
