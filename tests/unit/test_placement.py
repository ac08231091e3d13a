"""Placement rules, including property tests over random clusters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.errors import ConfigError
from provisioners.placement import Member, NoMemberAvailable, choose_member, spread, with_reservations


def test_fewest_instances_wins_and_ties_go_to_first_name() -> None:
    members = [Member("m1", True, 2), Member("m2", True, 1), Member("m3", True, 1)]
    assert choose_member(members).member == "m2"


def test_offline_members_are_never_chosen() -> None:
    members = [Member("m1", False, 0), Member("m2", True, 5)]
    assert choose_member(members).member == "m2"


def test_no_online_member_is_a_clear_error() -> None:
    with pytest.raises(NoMemberAvailable, match="no ONLINE"):
        choose_member([Member("m1", False)])


def test_anti_affinity_beats_instance_count() -> None:
    members = [Member("m1", True, 0, {"registry": 1}), Member("m2", True, 9)]
    assert choose_member(members, group="registry").member == "m2"


def test_anti_affinity_falls_back_to_fewest_replicas_when_every_member_has_one() -> None:
    members = [Member("m1", True, 1, {"r": 2}), Member("m2", True, 5, {"r": 1})]
    assert choose_member(members, group="r").member == "m2"


def test_pinned_member_must_exist_and_be_online() -> None:
    members = [Member("m1", True), Member("m2", False)]
    assert choose_member(members, pinned="m1").reason == "pinned"
    with pytest.raises(ConfigError, match="member: pinned member 'm9'"):
        choose_member(members, pinned="m9")
    with pytest.raises(NoMemberAvailable):
        choose_member(members, pinned="m2")


def test_reservations_count_as_instances() -> None:
    members = [Member("m1", True, 0), Member("m2", True, 0)]
    reserved = with_reservations(members, [("m1", "g"), ("gone", None)])
    assert choose_member(reserved, group="g").member == "m2"


clusters = st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=1, max_size=7)


@given(clusters, st.integers(1, 40))
def test_sequential_placement_keeps_spread_at_most_one_above_start(cluster, count) -> None:
    members = [Member(f"m{i}", online or i == 0, n) for i, (online, n) in enumerate(cluster)]
    online_before = [m for m in members if m.online]
    offline_before = {m.name: m.instances for m in members if not m.online}
    for _ in range(count):
        chosen = choose_member(members).member
        members = [Member(m.name, m.online, m.instances + (m.name == chosen)) for m in members]
    # Filling the emptiest member first never widens the gap beyond max(initial spread, 1).
    assert spread(members) <= max(spread(online_before), 1)
    assert {m.name: m.instances for m in members if not m.online} == offline_before


@given(st.integers(1, 6), st.integers(1, 6))
def test_group_replicas_land_on_distinct_members_while_possible(member_count, replicas) -> None:
    members = [Member(f"m{i}", True) for i in range(member_count)]
    chosen: list[str] = []
    for _ in range(replicas):
        pick = choose_member(members, group="g").member
        chosen.append(pick)
        members = [
            Member(m.name, True, m.instances + (m.name == pick), {"g": m.groups.get("g", 0) + (m.name == pick)})
            for m in members
        ]
    assert len(set(chosen)) == min(member_count, replicas)
    assert spread(members) <= 1
