"""One service's replicas are reconfigured one at a time, but set up together.

Chaining each replica's playbook after the previous one (depends_on) gives a rolling update, and also
makes the first deployment wait for N playbooks in a row, though no replica serves yet. This gate
decides in the dynamic-provider host instead (one process serves every dynamic resource of a run):
- an update holds the group alone: no other update or setup of that group runs meanwhile, so at most
  one serving replica is being changed at any time;
- setups (creates) of new replicas run together, only never beside an update;
- once a replica's run failed, the group's later updates in this process refuse: the same change
  would most likely break the replicas still serving.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cluster.errors import StepFailed

WAIT_LIMIT_S = 3600.0  # longer than any playbook run is allowed to take


@dataclass
class _Group:
    setting_up: int = 0
    updating: str | None = None  # the replica being updated
    failed: str | None = None  # the first replica whose run failed


class RollingGate:
    def __init__(self, wait_limit_s: float = WAIT_LIMIT_S) -> None:
        self._changed = threading.Condition()
        self._groups: dict[str, _Group] = {}
        self._wait_limit_s = wait_limit_s

    def _wait(self, group: str, replica: str, ready: Callable[[_Group], bool]) -> _Group:
        state = self._groups.setdefault(group, _Group())
        if not self._changed.wait_for(lambda: ready(state), timeout=self._wait_limit_s):
            raise StepFailed(replica, f"waited {self._wait_limit_s:.0f} s for the other replicas of {group} "
                             "to finish their playbooks", "see which playbook hangs, then run `pulumi up` again")
        return state

    @contextlib.contextmanager
    def setup(self, group: str, replica: str) -> Iterator[None]:
        """A new replica: together with other setups, never beside an update."""
        with self._changed:
            state = self._wait(group, replica, lambda s: s.updating is None)
            state.setting_up += 1
        with self._held(state, replica, setup=True):
            yield

    @contextlib.contextmanager
    def update(self, group: str, replica: str) -> Iterator[None]:
        """A serving replica: alone, and not after a failed run of the same group."""
        with self._changed:
            state = self._wait(group, replica, lambda s: s.updating is None and s.setting_up == 0)
            if state.failed is not None:
                raise StepFailed(replica, f"not reconfigured: the playbook run of {state.failed} failed in this "
                                 "`pulumi up`, so this replica keeps serving as it is",
                                 f"fix what failed on {state.failed}, then run `pulumi up` again")
            state.updating = replica
        with self._held(state, replica, setup=False):
            yield

    @contextlib.contextmanager
    def _held(self, state: _Group, replica: str, setup: bool) -> Iterator[None]:
        """Records a failed run, and lets the waiting replicas re-check their turn when this one ends."""
        try:
            yield
        except BaseException:
            with self._changed:
                state.failed = state.failed or replica
            raise
        finally:
            with self._changed:
                if setup:
                    state.setting_up -= 1
                else:
                    state.updating = None
                self._changed.notify_all()


GATE = RollingGate()  # the dynamic-provider host's, shared by its worker threads
