"""Which containers to move so the cluster is even again: a pure, greedy planner.

Every proposed move strictly improves the cluster's score (anti-affinity violations first, then
imbalance), so there is never a no-op or a sideways move; a move that only balances never widens the
spread; each instance moves at most once; only movable instances on ONLINE members move, and only
to ONLINE members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ops.moves import Move, Workload, counts, group_counts, online_names
from provisioners.placement import Member


def plan_rebalance(members: Iterable[Member], workloads: Sequence[Workload],
                   max_moves: int | None = None) -> list[Move]:
    """The moves, in order; [] when the cluster is already as even as single moves can make it."""
    online = online_names(members)
    placement = {w.name: w.member for w in workloads}
    per_member = counts(workloads, placement, online)
    groups = group_counts(workloads, placement)
    moved: set[str] = set()
    moves: list[Move] = []
    limit = len(workloads) if max_moves is None else min(max_moves, len(workloads))
    while len(moves) < limit:
        best = _best_move(workloads, online, placement, per_member, groups, moved)
        if best is None:
            break
        workload, target, reason = best
        source = placement[workload.name]
        moves.append(Move(workload.name, source, target, reason))
        moved.add(workload.name)
        placement[workload.name] = target
        per_member[source] -= 1
        per_member[target] += 1
        if workload.group:
            groups[source][workload.group] -= 1
            groups[target][workload.group] += 1
    return moves


def _best_move(workloads: Sequence[Workload], online: list[str], placement: dict[str, str], per_member: dict,
               groups: dict, moved: set[str]) -> tuple[Workload, str, str] | None:
    best: tuple[tuple[int, int, str, str], Workload, str, str] | None = None
    for workload in workloads:
        source = placement[workload.name]
        if not workload.movable or workload.name in moved or source not in online:
            continue
        for target in online:
            if target == source:
                continue
            delta_violations = 0
            if workload.group:
                delta_violations = (1 if groups[target][workload.group] >= 1 else 0) - (
                    1 if groups[source][workload.group] >= 2 else 0)
            delta_imbalance = 2 * (per_member[target] - per_member[source]) + 2
            if (delta_violations, delta_imbalance) >= (0, 0):
                continue  # not an improvement: never propose it
            key = (delta_violations, delta_imbalance, workload.name, target)
            if best is None or key < best[0]:
                if delta_violations < 0:
                    reason = f"restores anti-affinity of group {workload.group!r}"
                else:
                    reason = f"evens out instances ({per_member[source]} on {source}, {per_member[target]} on {target})"
                best = (key, workload, target, reason)
    return None if best is None else best[1:]
