"""The commit loop counts what a client was told: acknowledged numbers, refused ones, abandoned ones."""

from __future__ import annotations

import threading

from cluster.polling import wait_until
from harness.commit_loop import Commit, CommitLoop

FAST = {"interval_s": 0.0, "max_s": 5.0, "join_s": 2.0}


class FakeConnection:
    """Stores inserted numbers; `script` says per number: "ok", "fail" (raises), "hang" (answers late)."""

    def __init__(self, table: set[int], script: dict[int, str], release: threading.Event) -> None:
        self.table, self.script, self.release = table, script, release

    def execute(self, _sql: str, params: tuple[str, int]) -> None:
        number = params[1]
        behaviour = self.script.get(number, "ok")
        if behaviour == "fail":
            raise OSError("server closed the connection unexpectedly")
        if behaviour == "hang":
            self.release.wait(5)
        self.table.add(number)

    def close(self) -> None:
        pass


def _loop(script: dict[int, str], table: set[int], release: threading.Event, connects: list[int]) -> CommitLoop:
    def connect() -> FakeConnection:
        connects.append(1)
        return FakeConnection(table, script, release)

    return CommitLoop(connect, attempt_timeout_s=0.2, **FAST)


def _run_until(loop: CommitLoop, count: int) -> None:
    loop.start()
    wait_until(lambda: len(loop.commits) >= count, timeout_s=5, poll_s=0.01, what=f"{count} commits")
    loop.stop()


def test_acknowledged_numbers_are_the_ones_whose_statement_returned() -> None:
    table: set[int] = set()
    loop = _loop({2: "fail"}, table, threading.Event(), connects := [])
    _run_until(loop, 5)
    assert 2 not in loop.acked() and {1, 3, 4, 5} <= loop.acked()
    assert loop.lost(table) == [] and len(connects) >= 2  # the failure dropped the connection
    assert loop.lost(table - {3}) == [3]


def test_a_stuck_commit_is_abandoned_and_counts_when_its_answer_comes() -> None:
    table: set[int] = set()
    release = threading.Event()
    loop = _loop({2: "hang"}, table, release, connects := [])
    loop.start()
    wait_until(lambda: len(loop.commits) >= 3, timeout_s=5, poll_s=0.01, what="3 commits")
    assert 2 not in loop.acked() and len(connects) >= 2  # the loop went on without it, on a new connection
    release.set()
    loop.stop()
    wait_until(lambda: 2 in loop.acked(), timeout_s=5, poll_s=0.01, what="the late answer")


def test_longest_outage_is_the_widest_gap_between_acknowledgements() -> None:
    loop = CommitLoop(lambda: None, **FAST)  # type: ignore[arg-type, return-value]
    loop.commits = [Commit(1, 1.0, True, ""), Commit(2, 2.0, False, "x"), Commit(3, 4.5, True, ""),
                    Commit(4, 5.0, True, "")]
    assert loop.longest_outage_s() == 3.5
    assert loop.longest_outage_s(after_s=4.0) == 0.5
    assert loop.summary()["not_acked"] == 1
