"""A client committing numbered rows through a database's write endpoint, recording which commits were
acknowledged: the count that proves no acknowledged write is lost.

Each row is one autocommit INSERT; its statement returning is the acknowledgement. A commit that raised
or got no answer in time is not acknowledged (it may or may not be in the table: the client never heard).
Afterwards every acknowledged number must be in the table. A commit is never cancelled from the client:
PostgreSQL answers a cancelled wait for the synchronous standby with a warning and a *success* for a
commit only the primary has; the loop abandons a stuck connection instead and counts what it says later.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.client_loop import ClientLoop

TABLE = "lxdha_commits"


@dataclass(frozen=True)
class Commit:
    number: int
    at_s: float  # when its answer came (acknowledged) or the attempt gave up, seconds since the loop started
    acked: bool
    error: str


def create_table(connection: psycopg.Connection) -> None:
    connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (run text, number bigint, at timestamptz "
                       "DEFAULT clock_timestamp(), PRIMARY KEY (run, number))")


def numbers_in_table(connection: psycopg.Connection, run: str) -> set[int]:
    return {row[0] for row in connection.execute(f"SELECT number FROM {TABLE} WHERE run = %s", (run,))}


class CommitLoop(ClientLoop):
    """Commits rows 1, 2, ... of its own `run`, one every `interval_s`; `connect()` opens a connection to the
    write endpoint (reopened after any error). An attempt gets `attempt_timeout_s` before it is abandoned."""

    def __init__(self, connect: Callable[[], psycopg.Connection], *, interval_s: float, max_s: float,
                 join_s: float, attempt_timeout_s: float = 10.0) -> None:
        super().__init__(interval_s=interval_s, max_s=max_s, join_s=join_s, name="commit-loop")
        self.connect, self.attempt_timeout_s = connect, attempt_timeout_s
        self.run = uuid.uuid4().hex[:12]
        self.commits: list[Commit] = []
        self._lock = threading.Lock()
        self._connection: psycopg.Connection | None = None
        self._next = 1

    def step(self) -> None:
        number, self._next = self._next, self._next + 1
        attempt = threading.Thread(target=self._attempt, args=(number,), name=f"commit-{number}", daemon=True)
        attempt.start()
        attempt.join(self.attempt_timeout_s)
        if attempt.is_alive():  # no answer: the next attempt uses a new connection; this one reports when done
            self._connection = None

    def _attempt(self, number: int) -> None:
        connection = self._connection
        try:
            if connection is None:
                connection = self._connection = self.connect()
            connection.execute(f"INSERT INTO {TABLE} (run, number) VALUES (%s, %s)", (self.run, number))
            self._record(Commit(number, self.elapsed(), True, ""))
        except Exception as error:  # noqa: BLE001 - any failure is a commit the client did not see succeed
            if self._connection is connection:
                self._connection = None
            if connection is not None:
                _close_quietly(connection)
            self._record(Commit(number, self.elapsed(), False, " ".join(str(error).split())[:200]))

    def _record(self, commit: Commit) -> None:
        with self._lock:
            self.commits.append(commit)

    def stop(self) -> list[Commit]:
        self.stop_loop()
        if self._connection is not None:
            _close_quietly(self._connection)
        with self._lock:
            return sorted(self.commits, key=lambda c: c.number)

    def acked(self) -> set[int]:
        with self._lock:
            return {c.number for c in self.commits if c.acked}

    def lost(self, present: set[int]) -> list[int]:
        """Acknowledged numbers missing from the table: must always be empty."""
        return sorted(self.acked() - present)

    def longest_outage_s(self, after_s: float = 0.0) -> float:
        """The longest time between two acknowledged commits (or the loop's start and the first), from
        `after_s` on: how long writes were refused around a fault."""
        with self._lock:
            times = sorted(c.at_s for c in self.commits if c.acked and c.at_s >= after_s)
        marks = [after_s, *times]
        return round(max((b - a for a, b in itertools.pairwise(marks)), default=0.0), 2)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            commits = list(self.commits)
        failed = [c for c in commits if not c.acked]
        return {"run": self.run, "commits": len(commits), "acked": len(commits) - len(failed),
                "not_acked": len(failed), "first_errors": sorted({c.error for c in failed})[:3]}


def _close_quietly(connection: psycopg.Connection) -> None:
    with contextlib.suppress(Exception):  # a dead connection's close has nothing to say
        connection.close()
