"""One fault per roll, injected while the roll runs and always undone before the roll goes on.

The roll's own progress lines trigger it: when the chosen move starts ("moving X from A to B") and LXD's
copy of the instance has appeared on the target (the migration is under way), the fault fires in a thread:
- restart-during-move: the move's target or source member daemon is restarted (clean shutdown, start,
  ONLINE again), as a member reboot in the middle of a migration;
- leader-kill: the dqlite leader's daemon gets SIGKILL; once the cluster shows it OFFLINE it is started
  again (its containers keep running, as after a daemon crash);
- cut-heal: the move's target is cut off the lab segment; once the cluster shows it OFFLINE (and at
  least CUT_MIN_S after the cut) the link comes back.
A fault is bounded in time and undone before the roll's next host step (two members down at once
would cost the 3-member cluster its quorum, which no roll can ride out), and at the latest when the
roll ends; `undo_all` repairs the lab after an interruption.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cluster.polling import holds_within
from lab import faults as lab_faults
from lab.cluster import members_seen
from lab.config import LabConfig
from lab.members import daemon_alive
from lab.proc import LabError, ProcessTable

log = logging.getLogger(__name__)

KINDS = ("restart-during-move", "leader-kill", "cut-heal")
MOVES_PER_ROLL = 4  # 2 replicas on 3 members: each replica's member is evacuated and restored
MOVE_LINE = re.compile(r"moving (?P<instance>\S+) from (?P<source>\S+) to (?P<target>\S+)")
HOST_STEP_LINE = re.compile(r"\] host step: ")
COPY_WAIT_S = 30.0
OFFLINE_WAIT_S = 90.0
CUT_MIN_S = 15.0  # a cut lasts at least this long, even when the cluster saw the member OFFLINE sooner
FAULT_BOUND_S = 300.0  # a fault that is not undone by then is undone by force and recorded as failed


@dataclass(frozen=True)
class FaultPlan:
    """Which fault a roll gets and where: the `move_index`-th move of the roll, on its `side` member."""

    kind: str
    move_index: int
    side: str  # "target" or "source" (restart-during-move only)

    @classmethod
    def for_roll(cls, roll: int, kinds: tuple[str, ...] = KINDS) -> FaultPlan:
        """Rotates the kinds roll by roll; each kind's occurrences walk through the moves and sides."""
        occurrence = (roll - 1) // len(kinds)
        side = ("target", "source")[(occurrence + occurrence // MOVES_PER_ROLL) % 2]
        return cls(kinds[(roll - 1) % len(kinds)], occurrence % MOVES_PER_ROLL, side)


@dataclass
class FaultRecord:
    kind: str
    planned_move: int
    member: str | None = None
    trigger: str | None = None  # the roll line it fired on
    fired_at_s: float | None = None  # seconds since the roll started
    undone_at_s: float | None = None
    steps: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabActions:
    """The lab's fault helpers, bound to one lab."""

    def __init__(self, config: LabConfig) -> None:
        self.config = config

    def leader(self) -> str | None:
        return next((m.name for m in members_seen(self.config) or () if m.leader), None)

    def status(self, member: str) -> str | None:
        return lab_faults.member_status(self.config, member)

    def wait_status(self, member: str, status: str, timeout: float) -> None:
        lab_faults.wait_member_status(self.config, member, status, timeout)

    def restart(self, member: str) -> None:
        lab_faults.restart_member(self.config, member)

    def kill(self, member: str) -> None:
        lab_faults.kill_member(self.config, member)

    def cut(self, member: str) -> None:
        lab_faults.cut_member(self.config, member)

    def heal(self, member: str) -> None:
        lab_faults.heal_member(self.config, member)

    def is_cut(self, member: str) -> bool:
        return lab_faults.member_is_cut(self.config, member)

    def daemon_alive(self, member: str) -> bool:
        return daemon_alive(ProcessTable(self.config.run_dir), member)

    def members(self) -> list[str]:
        return [m.name for m in self.config.members]


def undo_all(actions: LabActions) -> list[str]:
    """Heals every cut member and starts every dead daemon; returns what it had to repair."""
    repaired = []
    for member in actions.members():
        if actions.is_cut(member):
            actions.heal(member)
            repaired.append(f"healed {member}")
        if not actions.daemon_alive(member):
            actions.restart(member)
            repaired.append(f"restarted {member}")
    for member in actions.members():
        actions.wait_status(member, "Online", timeout=180)
    if repaired:
        log.info(f"faults undone: {', '.join(repaired)}")
    return repaired


class RollFault:
    """Watches one roll's lines (`hook`), fires the planned fault once, undoes it before the next host step."""

    def __init__(self, plan: FaultPlan, actions: LabActions, migrating: Callable[[str], bool]) -> None:
        self.plan, self.actions, self.migrating = plan, actions, migrating
        self.record = FaultRecord(plan.kind, plan.move_index)
        self._moves_seen = 0
        self._thread: threading.Thread | None = None
        self._roll_started = time.monotonic()

    def _now(self) -> float:
        return round(time.monotonic() - self._roll_started, 1)

    def hook(self, line: str) -> None:
        """Called with every line the roll says, before the roll acts on it."""
        move = MOVE_LINE.search(line)
        if move:
            if self._moves_seen == self.plan.move_index and self._thread is None:
                self._thread = threading.Thread(target=self._inject, args=(move.groupdict(), line),
                                                name="soak-fault", daemon=True)
                self._thread.start()
            self._moves_seen += 1
        elif HOST_STEP_LINE.search(line):
            self.settle()

    def settle(self) -> None:
        """Waits (bounded) until the fault is undone; a fault still active then is undone by force."""
        if self._thread is None:
            return
        self._thread.join(timeout=FAULT_BOUND_S)
        if self._thread.is_alive():
            self.record.error = (self.record.error or "") + f"; not undone within {FAULT_BOUND_S:.0f}s"
            self._step(f"forced undo: {', '.join(undo_all(self.actions)) or 'nothing to repair'}")

    def _step(self, text: str) -> None:
        self.record.steps.append(f"{self._now()}s {text}")
        log.info(f"[soak fault] {text}")

    def _inject(self, move: dict[str, str], line: str) -> None:
        self._wait_migrating(move["instance"])
        self.record.trigger, self.record.fired_at_s = line.strip(), self._now()
        try:
            {"restart-during-move": self._restart, "leader-kill": self._leader_kill,
             "cut-heal": self._cut_heal}[self.plan.kind](move)
        except Exception as error:  # noqa: BLE001 - recorded; undo_all repairs the lab afterwards
            self.record.error = f"{type(error).__name__}: {error}"
            self._step(f"fault step failed: {self.record.error}; repairing")
            undo_all(self.actions)
        self.record.undone_at_s = self._now()

    def _wait_migrating(self, instance: str) -> None:
        """Fires in the middle of the migration (`migrating`: cluster.steps.migration_under_way); at the
        latest after COPY_WAIT_S. Unreadable for a moment: keep watching until the bound."""
        holds_within(lambda: self.migrating(instance), timeout_s=COPY_WAIT_S, poll_s=0.2, not_yet=(Exception,))

    def _restart(self, move: dict[str, str]) -> None:
        member = self.record.member = move[self.plan.side]
        self._step(f"restarting the daemon of {member} (the move's {self.plan.side})")
        self.actions.restart(member)
        self._step(f"{member} ONLINE again")

    def _leader_kill(self, _move: dict[str, str]) -> None:
        leader = self.actions.leader()
        if leader is None:
            raise LabError("no member reports the database-leader role")
        self.record.member = leader
        self._step(f"kill -9 of the dqlite leader {leader}")
        self.actions.kill(leader)
        self.actions.wait_status(leader, "Offline", timeout=OFFLINE_WAIT_S)
        self._step(f"{leader} OFFLINE; starting it again")
        self.actions.restart(leader)
        self._step(f"{leader} ONLINE again (leader now {self.actions.leader()})")

    def _cut_heal(self, move: dict[str, str]) -> None:
        member = self.record.member = move["target"]
        self._step(f"cutting {member} (the move's target) off the lab segment")
        self.actions.cut(member)
        cut_at = time.monotonic()
        try:
            self.actions.wait_status(member, "Offline", timeout=OFFLINE_WAIT_S)
            time.sleep(max(0.0, CUT_MIN_S - (time.monotonic() - cut_at)))  # a blink would not reach the copy
            self._step(f"{member} OFFLINE; healing")
        finally:
            self.actions.heal(member)
        self.actions.wait_status(member, "Online", timeout=180)
        self._step(f"{member} ONLINE again")
