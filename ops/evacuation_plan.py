"""Where a member's containers go while it is in maintenance, and which come back afterwards.

Pure: the same choose_member rules as creation (ONLINE only, a member free of the group when there
is one, then fewest instances), applied one instance at a time so each choice sees the previous ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ops.moves import Move, Workload, members_as_placement_sees_them
from provisioners.placement import Member, NoMemberAvailable, choose_member


def plan_evacuation(members: Iterable[Member], workloads: Sequence[Workload], member: str) -> list[Move]:
    """Moves taking every movable instance off `member`; grouped replicas are placed first so they get
    the widest choice of members free of their group."""
    members = list(members)
    if not any(m.online and m.name != member for m in members):
        raise NoMemberAvailable(f"cannot evacuate {member}: no other ONLINE member to take its instances")
    placement = {w.name: w.member for w in workloads}
    leaving = sorted((w for w in workloads if w.member == member and w.movable),
                     key=lambda w: (w.group is None, w.name))
    moves = []
    for workload in leaving:
        candidates = members_as_placement_sees_them(members, workloads, placement, exclude=member)
        choice = choose_member(candidates, group=workload.group)
        moves.append(Move(workload.name, member, choice.member, choice.reason))
        placement[workload.name] = choice.member
    return moves


def plan_return(members: Iterable[Member], workloads: Sequence[Workload], member: str) -> list[Move]:
    """Moves bringing back the instances recorded as evacuated from `member` (none while it is not ONLINE)."""
    if not any(m.name == member and m.online for m in members):
        return []
    return [Move(w.name, w.member, member, "back where it was before maintenance")
            for w in sorted(workloads, key=lambda w: w.name) if w.origin == member and w.member != member and w.movable]


def stale_origins(workloads: Sequence[Workload], member: str) -> list[str]:
    """Instances already home whose evacuation record was left behind (e.g. a run stopped in between)."""
    return sorted(w.name for w in workloads if w.origin == member and w.member == member and w.movable)


def staying(workloads: Sequence[Workload], member: str) -> list[Workload]:
    """Instances on `member` outside the scope: the host step takes them down with the member."""
    return [w for w in workloads if w.member == member and not w.movable and not w.stateful]


def stopped_in_place(workloads: Sequence[Workload], member: str) -> list[Workload]:
    """The stateful instances on `member` (their data is local): stopped cleanly there, started again after."""
    return sorted((w for w in workloads if w.member == member and w.stateful), key=lambda w: w.name)
