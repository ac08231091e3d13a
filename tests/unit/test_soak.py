"""The soak benchmark's pure parts: the fault rotation, when a fault fires and is waited for, the summary,
merging chunks and the generated section. Nothing here touches the lab or times anything."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.soak import faults as soak_faults
from bench.soak.faults import FaultPlan, RollFault
from bench.soak.plot import soak_plot
from bench.soak.report import BEGIN, END, kept_section, merge, render_section, replace_section, write_json
from bench.soak.session import missing_replicas


@pytest.fixture(autouse=True)
def short_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(soak_faults, "CUT_MIN_S", 0.0)


def test_twenty_rolls_rotate_every_kind_through_moves_and_sides() -> None:
    plans = [FaultPlan.for_roll(n) for n in range(1, 21)]
    assert Counter(p.kind for p in plans) == {"restart-during-move": 7, "leader-kill": 7, "cut-heal": 6}
    restarts = [p for p in plans if p.kind == "restart-during-move"]
    assert {p.move_index for p in restarts} == {0, 1, 2, 3}
    assert {(p.move_index, p.side) for p in restarts} >= {(0, "target"), (0, "source"), (1, "source")}
    assert FaultPlan.for_roll(8, ("leader-kill", "cut-heal")).kind == "cut-heal"


class FakeActions:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.release = threading.Event()

    def restart(self, member: str) -> None:
        self.release.wait(5)
        self.done.append(f"restart {member}")

    def leader(self) -> str:
        return "m2"

    def kill(self, member: str) -> None:
        self.done.append(f"kill {member}")

    def wait_status(self, member: str, status: str, timeout: float) -> None:
        self.done.append(f"{member} {status}")

    def cut(self, member: str) -> None:
        self.done.append(f"cut {member}")

    def heal(self, member: str) -> None:
        self.done.append(f"heal {member}")


def _roll_fault(plan: FaultPlan, actions: FakeActions) -> RollFault:
    return RollFault(plan, actions, lambda _name: True)  # the migration is under way


def test_the_fault_fires_on_its_move_and_the_host_step_waits_until_it_is_undone() -> None:
    actions = FakeActions()
    fault = _roll_fault(FaultPlan("restart-during-move", 1, "source"), actions)
    fault.hook("moving soakreg-0 from m1 to m2")
    assert fault._thread is None  # noqa: SLF001 - the first move is not the planned one
    fault.hook("moving soakreg-1 from m1 to m3")
    assert fault._thread is not None  # noqa: SLF001
    actions.release.set()
    fault.hook("[m1] host step: python -m lab fault restart-member m1")
    assert actions.done == ["restart m1"]
    assert fault.record.member == "m1" and fault.record.trigger == "moving soakreg-1 from m1 to m3"
    assert fault.record.undone_at_s is not None and fault.record.error is None


def test_leader_kill_restarts_only_after_offline_and_cut_heals_after_offline() -> None:
    actions = FakeActions()
    actions.release.set()
    fault = _roll_fault(FaultPlan("leader-kill", 0, "target"), actions)
    fault.hook("moving soakreg-0 from m1 to m3")
    fault.settle()
    assert actions.done == ["kill m2", "m2 Offline", "restart m2"]
    actions.done.clear()
    fault = _roll_fault(FaultPlan("cut-heal", 0, "target"), actions)
    fault.hook("moving soakreg-0 from m1 to m3")
    fault.settle()
    assert actions.done == ["cut m3", "m3 Offline", "heal m3", "m3 Online"]


def test_a_failing_fault_is_recorded_and_the_lab_repaired(monkeypatch: Any) -> None:
    actions = FakeActions()
    repaired: list[str] = []
    monkeypatch.setattr(soak_faults, "undo_all", lambda _actions: repaired.append("all") or ["healed m3"])

    def never_offline(member: str, status: str, timeout: float) -> None:
        raise RuntimeError(f"{member} not {status}")

    actions.wait_status = never_offline  # type: ignore[method-assign]
    fault = _roll_fault(FaultPlan("cut-heal", 0, "target"), actions)
    fault.hook("moving soakreg-0 from m1 to m3")
    fault.settle()
    assert "m3 not Offline" in (fault.record.error or "") and repaired == ["all"]
    assert actions.done == ["cut m3", "heal m3"]


def _roll(number: int, kind: str, ok: bool = True, gap: float = 0.4, failed: int = 0) -> dict[str, Any]:
    return {"roll": number, "ok": ok, "stopped_at": None if ok else "m2: gate after: x", "members_done": [],
            "moves": 4, "seconds": 100.0 + number, "longest_gap_s": gap, "vip_gaps": [[50.0, gap]], "log": "",
            "fault": {"kind": kind, "planned_move": 0, "member": "m2", "trigger": "moving", "fired_at_s": 12.0,
                      "undone_at_s": 40.0, "steps": [], "error": None},
            "pulls": 10, "retried_pulls": 1, "failed_pulls": failed, "pull_problems": []}


def _session(first: int, rolls: list[dict[str, Any]], pulls: list[list[Any]]) -> dict[str, Any]:
    return {"schema": 1, "started": f"2026-11-29T0{first}:00:00Z", "finished": f"2026-11-29T0{first}:30:00Z",
            "host": {"cpus": 2}, "members": ["m1", "m2", "m3"], "command": f"python -m bench.soak --first-roll {first}",
            "first_roll": first, "up_s": 90.0, "interrupted": False, "rolls": rolls,
            "images": [{"tag": f"t{first}", "digest": "sha256:ab"}],
            "after": [{"tag": f"t{first}", "digest": "sha256:ab", "pullable": True, "error": ""}], "pulls": pulls}


def test_chunks_merge_into_one_summary_and_section(tmp_path: Path) -> None:
    one = _session(1, [_roll(1, "restart-during-move"), _roll(2, "leader-kill", gap=1.2)],
                   [[1, 0.0, 0.5, 1, "ok"], [1, 2.0, 2.5, 2, "retried"]])
    two = _session(3, [_roll(3, "cut-heal", ok=False, failed=1)], [[1, 1.0, 3.0, 3, "failed"]])
    merged = merge([one, two])
    summary = merged["summary"]
    assert (summary["rolls_ok"], summary["rolls"], summary["failed_pulls"], summary["retried_pulls"]) == (2, 3, 1, 1)
    assert (summary["longest_gap_s"], summary["longest_gap_roll"]) == (1.2, 2)
    assert summary["faults"] == {"cut-heal": 1, "leader-kill": 1, "restart-during-move": 1}
    assert summary["digests_pullable"] == summary["digests"] == 2 and summary["target_met"] is False
    assert [p[0] for p in merged["pulls"]] == [1, 1, 2]
    out = tmp_path / "soak.json"
    write_json(merged, out)
    assert json.loads(out.read_text())["pulls"][2] == [2, 1.0, 3.0, 3, "failed"]
    assert merge([json.loads(out.read_text())])["summary"] == summary  # a merged file merges again unchanged
    section = render_section(merged, tmp_path / "BENCHMARKS.md", out, tmp_path / "soak.png")
    assert "rolls completed: **2/3**" in section and "**NOT met**" in section and "merged with" in section
    soak_plot(merged, tmp_path / "soak.png")
    assert (tmp_path / "soak.png").stat().st_size > 0


def test_the_section_is_replaced_in_place_and_kept_by_the_other_writer() -> None:
    section = f"{BEGIN}\n## Soak\nnew\n{END}\n"
    table = "# Benchmarks\n\n| N |\n"
    once = replace_section(table, section)
    assert once.endswith(section) and once.startswith(table.rstrip())
    twice = replace_section(once.replace("new", "old"), section)
    assert twice == once
    assert kept_section(once) == section and kept_section(table) == ""


def test_a_replica_lxd_lost_mid_move_is_named_for_the_operators_pulumi_up() -> None:
    """A 7-roll soak: LXD 5.0 lost soakreg-1 when the move's target was cut off between deleting the original
    and renaming the copy; every later roll stopped at the gate. The recovery now names it and runs `pulumi up`."""
    assert missing_replicas({"soakreg-0", "soakreg-1", "other"}, ("soakreg-0", "soakreg-1")) == []
    assert missing_replicas({"soakreg-0", "lxd-move-of-x"}, ("soakreg-0", "soakreg-1")) == ["soakreg-1"]
