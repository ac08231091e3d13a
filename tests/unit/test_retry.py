"""Only transient cluster errors are retried, a bounded number of times."""

from __future__ import annotations

import pytest
import requests

from cluster.retry import is_transient, with_retries


class Answered(Exception):
    """An error carrying an HTTP response, as pylxd's LXDAPIException does."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = type("Response", (), {"status_code": status})()


@pytest.mark.parametrize(("error", "transient"), [
    (RuntimeError("Failed to begin transaction: database is locked"), True),
    (RuntimeError("Member m2 is offline"), True),
    (RuntimeError("Target node is offline"), True),
    (RuntimeError("Get \"https://10.91.0.12:8443/1.0\": EOF"), True),
    (RuntimeError("Missing event connection with target cluster member"), True),
    (RuntimeError("LXD is shutting down"), True),
    (RuntimeError("Incus is shutting down"), True),  # Incus 6.0's words for the same state
    (RuntimeError("no available dqlite leader server found"), True),
    (RuntimeError("no available cowsql leader server found"), True),  # Incus' database
    (RuntimeError("Server isn't ready yet"), True),  # Incus: a request forwarded to a member still starting
    (requests.ConnectionError("refused"), True),
    (requests.Timeout("read timed out"), True),
    (Answered(503, "Service Unavailable"), True),
    (Answered(502, "bad gateway"), True),
    (requests.exceptions.SSLError("Fingerprints did not match"), False),
    (RuntimeError("Instance not found"), False),
    (Answered(400, "Invalid config: unknown key"), False),
    (Answered(500, "Failed creating instance: disk quota exceeded"), False),
    (RuntimeError("the EOF marker was missing in the file"), False),  # a word inside a message is no signal
    (RuntimeError("teof"), False),
    (RuntimeError("sleepleadership lostness"), False),
], ids=lambda value: str(value)[:40])
def test_classification_by_type_status_and_whole_phrases(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_pin_mismatch_wrapped_in_a_connection_error_is_real() -> None:
    try:
        try:
            raise requests.exceptions.SSLError("certificate mismatch")
        except requests.exceptions.SSLError as inner:
            raise requests.ConnectionError("Max retries exceeded") from inner
    except requests.ConnectionError as wrapped:
        assert not is_transient(wrapped)


def test_a_migration_whose_connection_between_members_broke_is_transient() -> None:
    assert is_transient(RuntimeError("Copy instance operation failed: Failed instance creation: Error transferring "
                                     "instance data: websocket: bad handshake"))
    assert is_transient(RuntimeError("Error transferring instance data: websocket: close 1006 (abnormal closure)"))
    assert not is_transient(RuntimeError("Error transferring instance data: Failed to create file: no space left "
                                         "on device"))
    assert not is_transient(RuntimeError("websocket: bad handshakes"))  # whole phrases only


def test_a_migration_stream_cut_off_between_members_is_transient_but_our_own_tls_failure_is_not() -> None:
    """Soak (6-roll run, roll 3): the move's target was cut off the network and LXD failed the move with
    "Failed instance creation: local error: tls: bad record MAC" (the stream between the members)."""
    assert is_transient(RuntimeError("Copy instance operation failed: Failed instance creation: local error: "
                                     "tls: bad record MAC"))
    assert is_transient(RuntimeError("Error transferring instance data: write tcp 10.91.0.11:8443: use of closed "
                                     "network connection"))
    assert not is_transient(requests.exceptions.SSLError("tls: bad record MAC"))


def test_retries_transient_then_succeeds() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("database is locked")
        return "ok"

    assert with_retries(flaky, "flaky", sleep=lambda _s: None) == "ok"
    assert len(calls) == 3


def test_gives_up_after_the_bound_and_never_retries_real_errors() -> None:
    calls = []

    def always_locked() -> None:
        calls.append(1)
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError):
        with_retries(always_locked, "locked", attempts=4, sleep=lambda _s: None)
    assert len(calls) == 4

    real = []
    with pytest.raises(ValueError):
        with_retries(lambda: real.append(1) or (_ for _ in ()).throw(ValueError("bad")), "real",
                     sleep=lambda _s: None)
    assert len(real) == 1


MEMBER_SILENT = "Missing event connection with target cluster member"


def test_a_member_that_does_not_answer_is_waited_for_beyond_the_attempts() -> None:
    """A member's daemon restarting takes tens of seconds: with `member_wait_s` the step polls for it
    (slept time bounded) instead of spending its few attempts; other transient errors still count."""
    calls, slept = [], []

    def silent_then_answers() -> str:
        calls.append(1)
        if len(calls) <= 20:
            raise Answered(500, MEMBER_SILENT)
        return "done"

    assert with_retries(silent_then_answers, "read", attempts=4, sleep=slept.append, member_wait_s=120) == "done"
    assert len(calls) == 21 and set(slept) == {2.0}

    calls.clear()
    with pytest.raises(Answered):  # without a member wait: the attempts bound as for any hiccup
        with_retries(silent_then_answers, "read", attempts=4, sleep=lambda _s: None)
    assert len(calls) == 4


def test_a_member_that_stays_silent_gives_up_after_the_wait_and_the_attempts() -> None:
    calls = []

    def always_silent() -> None:
        calls.append(1)
        raise Answered(500, MEMBER_SILENT)

    with pytest.raises(Answered):
        with_retries(always_silent, "read", attempts=4, sleep=lambda _s: None, member_wait_s=10)
    assert len(calls) == 5 + 4  # 10 s of 2 s polls, then the usual attempts


def test_a_member_still_starting_on_incus_is_a_member_down() -> None:
    """Measured on the Incus lab: a member restarted during `up` answers forwarded requests so until it is up."""
    from cluster.retry import classify

    assert classify(RuntimeError("Server isn't ready yet")).member_down
