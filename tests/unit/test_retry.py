"""Only transient cluster errors are retried, a bounded number of times."""

from __future__ import annotations

import pytest
import requests

from cluster.retry import is_transient, with_retries


def test_dqlite_and_member_loss_are_transient_but_real_errors_are_not() -> None:
    assert is_transient(RuntimeError("database is locked"))
    assert is_transient(RuntimeError("Member m2 is offline"))
    assert is_transient(requests.ConnectionError("refused"))
    assert not is_transient(requests.exceptions.SSLError("Fingerprints did not match"))
    assert not is_transient(RuntimeError("Instance not found"))


def test_a_migration_whose_connection_between_members_broke_is_transient() -> None:
    assert is_transient(RuntimeError("Copy instance operation failed: Failed instance creation: Error transferring "
                                     "instance data: websocket: bad handshake"))
    assert is_transient(RuntimeError("Error transferring instance data: websocket: close 1006 (abnormal closure)"))
    assert not is_transient(RuntimeError("Error transferring instance data: Failed to create file: no space left "
                                         "on device"))
    assert not is_transient(RuntimeError("websocket: bad handshakes"))  # whole phrases only


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
