"""The rolling gate: a service's replicas are updated one at a time and set up together; after a failed
run the group's later updates refuse (the same change would likely break the replicas still serving)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from cluster.errors import StepFailed
from provisioners.rolling_gate import RollingGate
from tests.support.threads import together

HOLD_S = 0.05


class Timeline:
    """Which replicas were inside the gate at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside: set[str] = set()
        self.overlaps: set[frozenset[str]] = set()

    def run(self, name: str) -> None:
        with self._lock:
            for other in self.inside:
                self.overlaps.add(frozenset((name, other)))
            self.inside.add(name)
        time.sleep(HOLD_S)
        with self._lock:
            self.inside.discard(name)


def test_first_setups_run_together() -> None:
    gate, timeline = RollingGate(), Timeline()

    def setup(name: str) -> Callable[[], None]:
        def job() -> None:
            with gate.setup("registry", name):
                timeline.run(name)
        return job

    assert together(setup("r0"), setup("r1"), setup("r2")) == []
    assert frozenset(("r0", "r1")) in timeline.overlaps  # all three were inside at once


def test_updates_run_one_at_a_time_and_never_beside_a_setup() -> None:
    gate, timeline = RollingGate(), Timeline()

    def job(name: str, kind: str) -> Callable[[], None]:
        def run() -> None:
            with (gate.update if kind == "update" else gate.setup)("registry", name):
                timeline.run(name)
        return run

    assert together(job("r0", "update"), job("r1", "update"), job("r2", "setup"), job("r3", "update")) == []
    assert timeline.overlaps == set()
    with gate.update("other-service", "o0"), gate.update("registry", "r0"):  # groups do not hold each other up
        pass


def test_after_a_failed_run_the_groups_updates_refuse_and_setups_still_run() -> None:
    gate = RollingGate()
    with pytest.raises(RuntimeError), gate.update("registry", "r0"):
        raise RuntimeError("the playbook failed")
    with pytest.raises(StepFailed) as refused, gate.update("registry", "r1"):
        pytest.fail("a second replica was reconfigured after the first one's run failed")
    assert "r1: not reconfigured: the playbook run of r0 failed" in str(refused.value)
    with gate.setup("registry", "r2"):
        pass
    with gate.update("other-service", "o0"):
        pass


def test_a_wait_is_bounded() -> None:
    gate = RollingGate(wait_limit_s=0.05)
    with gate.update("registry", "r0"):
        errors = together(lambda: gate.update("registry", "r1").__enter__())
    assert len(errors) == 1 and "waited 0 s for the other replicas of registry" in str(errors[0])
