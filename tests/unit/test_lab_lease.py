"""The lab lease: one user of the lab at a time, the holder named to whoever is refused."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from lab.lease import LEASE_ENV, lab_session, lease_path
from lab.proc import LabError


@pytest.fixture(autouse=True)
def _no_inherited_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEASE_ENV, raising=False)  # the unit run may itself run inside a lab session


def test_a_second_user_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    """Seen: a `make test` started during a soak took the soak's lab down mid-roll."""
    holder = os.open(lease_path(tmp_path), os.O_RDWR | os.O_CREAT, 0o600)  # another open file = another user
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(holder, b"make soak (pid 4242)", 0)
        with pytest.raises(LabError, match=r"in use by make soak \(pid 4242\)"), lab_session(tmp_path, "make test"):
            pass
    finally:
        os.close(holder)


def test_the_holder_is_recorded_and_released(tmp_path: Path) -> None:
    with lab_session(tmp_path, "make demo"):
        assert lease_path(tmp_path).read_text() == f"make demo (pid {os.getpid()})"
        assert os.environ[LEASE_ENV] == str(os.getpid())
    assert LEASE_ENV not in os.environ and lease_path(tmp_path).read_text() == ""
    with lab_session(tmp_path, "make test"):  # free again
        pass


def test_the_holders_children_and_nested_uses_run_inside_its_lease(tmp_path: Path) -> None:
    with lab_session(tmp_path, "make demo"), lab_session(tmp_path, "`python -m lab up`"):
        assert lease_path(tmp_path).read_text().startswith("make demo")
