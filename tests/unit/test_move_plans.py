"""Rebalance and evacuation planners: examples as data, and properties over random clusters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops.evacuation_plan import plan_evacuation, plan_return, staying, stopped_in_place
from ops.moves import Workload, spread_of, violations
from ops.rebalance_plan import plan_rebalance
from provisioners.placement import Member, NoMemberAvailable

M3 = [Member("m1", True), Member("m2", True), Member("m3", True)]


def _apply(workloads: list[Workload], moves) -> dict[str, str]:
    placement = {w.name: w.member for w in workloads}
    for move in moves:
        assert placement[move.instance] == move.source
        placement[move.instance] = move.target
    return placement


def test_skewed_cluster_moves_just_enough() -> None:
    workloads = [Workload("a", "m1"), Workload("b", "m1"), Workload("c", "m1"), Workload("d", "m2")]
    moves = plan_rebalance(M3, workloads)
    assert [(m.instance, m.source, m.target) for m in moves] == [("a", "m1", "m3")]
    assert spread_of(workloads, _apply(workloads, moves), ["m1", "m2", "m3"]) == 1


def test_even_cluster_needs_no_move() -> None:
    workloads = [Workload("a", "m1"), Workload("b", "m2"), Workload("c", "m3"), Workload("d", "m1")]
    assert plan_rebalance(M3, workloads) == []


def test_anti_affinity_is_restored_even_when_counts_are_even() -> None:
    workloads = [Workload("r1", "m1", "reg"), Workload("r2", "m1", "reg"), Workload("x", "m2"), Workload("y", "m2")]
    moves = plan_rebalance(M3, workloads)
    placement = _apply(workloads, moves)
    assert violations(workloads, placement, ["m1", "m2", "m3"]) == 0
    assert moves[0].reason.startswith("restores anti-affinity")


def test_instances_outside_the_scope_never_move_but_count() -> None:
    workloads = [Workload("f1", "m1", movable=False), Workload("f2", "m1", movable=False), Workload("o", "m1"),
                 Workload("f3", "m2", movable=False)]
    moves = plan_rebalance(M3, workloads)
    assert [(m.instance, m.target) for m in moves] == [("o", "m3")]


def test_offline_members_neither_give_nor_take() -> None:
    members = [Member("m1", True), Member("m2", False), Member("m3", True)]
    workloads = [Workload("a", "m2"), Workload("b", "m2"), Workload("c", "m1"), Workload("d", "m1"),
                 Workload("e", "m1")]
    moves = plan_rebalance(members, workloads)
    assert [(m.instance, m.source, m.target) for m in moves] == [("c", "m1", "m3")]


def test_evacuation_keeps_replicas_apart_and_fills_the_emptiest() -> None:
    workloads = [Workload("r1", "m1", "reg"), Workload("r2", "m2", "reg"), Workload("a", "m1"),
                 Workload("b", "m3"), Workload("c", "m3")]
    moves = plan_evacuation(M3, workloads, "m1")
    assert {(m.instance, m.target) for m in moves} == {("r1", "m3"), ("a", "m2")}


def test_evacuation_without_another_online_member_is_a_clear_error() -> None:
    with pytest.raises(NoMemberAvailable, match="cannot evacuate m1"):
        plan_evacuation([Member("m1", True), Member("m2", False)], [Workload("a", "m1")], "m1")


def test_return_brings_back_only_what_came_from_the_member() -> None:
    workloads = [Workload("a", "m2", origin="m1"), Workload("b", "m3", origin="m2"), Workload("c", "m1", origin="m1"),
                 Workload("d", "m3")]
    assert [(m.instance, m.target) for m in plan_return(M3, workloads, "m1")] == [("a", "m1")]
    assert plan_return([Member("m1", False), *M3[1:]], workloads, "m1") == []


def test_out_of_scope_instances_stay_and_are_reported() -> None:
    workloads = [Workload("f", "m1", movable=False), Workload("a", "m1")]
    assert [w.name for w in staying(workloads, "m1")] == ["f"]
    assert [m.instance for m in plan_evacuation(M3, workloads, "m1")] == ["a"]


def test_stateful_instances_stop_in_place_and_never_move() -> None:
    """A database member's data is on its host: a roll stops it there and starts it again, never moves it."""
    workloads = [Workload("pg1", "m1", "pg", movable=False, stateful=True), Workload("a", "m1"),
                 Workload("pg2", "m2", "pg", movable=False, stateful=True, origin="m2")]
    assert [w.name for w in stopped_in_place(workloads, "m1")] == ["pg1"]
    assert staying(workloads, "m1") == []
    assert [m.instance for m in plan_evacuation(M3, workloads, "m1")] == ["a"]
    assert plan_return(M3, workloads, "m2") == []


MEMBER_NAMES = ["m1", "m2", "m3", "m4"]
workload_lists = st.lists(
    st.tuples(st.sampled_from(MEMBER_NAMES), st.sampled_from([None, "g1", "g2"]), st.booleans()),
    max_size=14,
).map(lambda rows: [Workload(f"i{n}", member, group, movable) for n, (member, group, movable) in enumerate(rows)])
member_lists = st.lists(st.booleans(), min_size=4, max_size=4).map(
    lambda flags: [Member(name, online) for name, online in zip(MEMBER_NAMES, flags, strict=True)])


@settings(max_examples=120, deadline=None)
@given(member_lists, workload_lists)
def test_rebalance_properties(members: list[Member], workloads: list[Workload]) -> None:
    online = [m.name for m in members if m.online]
    moves = plan_rebalance(members, workloads)
    by_name = {w.name: w for w in workloads}
    assert len({m.instance for m in moves}) == len(moves), "an instance moves at most once"
    placement = {w.name: w.member for w in workloads}
    for move in moves:
        assert move.source != move.target, "never a no-op move"
        assert move.source in online and move.target in online
        assert by_name[move.instance].movable
        before = (violations(workloads, placement, online), spread_of(workloads, placement, online))
        placement[move.instance] = move.target
        after = (violations(workloads, placement, online), spread_of(workloads, placement, online))
        assert after[0] <= before[0], "never breaks anti-affinity"
        if after[0] == before[0]:
            assert after[1] <= before[1], "a balancing move never widens the spread"
    assert plan_rebalance(members, [Workload(w.name, placement[w.name], w.group, w.movable) for w in workloads]) == []


@settings(max_examples=120, deadline=None)
@given(member_lists, workload_lists, st.sampled_from(MEMBER_NAMES))
def test_evacuation_properties(members: list[Member], workloads: list[Workload], member: str) -> None:
    others = [m.name for m in members if m.online and m.name != member]
    if not others:
        with pytest.raises(NoMemberAvailable):
            plan_evacuation(members, workloads, member)
        return
    moves = plan_evacuation(members, workloads, member)
    assert sorted(m.instance for m in moves) == sorted(w.name for w in workloads if w.member == member and w.movable)
    placement = {w.name: w.member for w in workloads}
    for move in moves:
        assert move.source == member and move.target in others
        group = next(w.group for w in workloads if w.name == move.instance)
        free_before = [o for o in others if group and not any(
            w.group == group and placement[w.name] == o for w in workloads)]
        if free_before:
            assert move.target in free_before, "anti-affinity respected when possible"
        placement[move.instance] = move.target
    returned = [Workload(w.name, placement[w.name], w.group, w.movable,
                         origin=member if placement[w.name] != w.member else None) for w in workloads]
    back = plan_return(members + [Member(member, True)], returned, member)
    assert sorted(m.instance for m in back) == sorted(m.instance for m in moves)
