"""Which containers to move so the cluster is even again: a pure planner in two passes.

1. Where everything should end: single improving moves (anti-affinity violations first, then
   imbalance) are applied until none is left -- while planning an instance may move more than once,
   so the end is a fixed point: planning again from it proposes nothing.
2. How to get there: each instance that ends elsewhere moves once, straight to its final member, and
   the moves are ordered so each one improves the cluster as much as possible from where it stands
   (a move out of a member comes before a move that needs the room).
Only movable instances on ONLINE members move, and only to ONLINE members; never a no-op move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ops.moves import Move, Workload, counts, group_counts, imbalance, online_names, violations
from provisioners.placement import Member


def plan_rebalance(members: Iterable[Member], workloads: Sequence[Workload],
                   max_moves: int | None = None) -> list[Move]:
    """The moves, in order; [] when the cluster is already as even as single moves can make it."""
    online = online_names(members)
    start = {w.name: w.member for w in workloads}
    final = _fixed_point(workloads, online, dict(start))
    moves = _ordered(workloads, online, start, {n: m for n, m in final.items() if m != start[n]})
    return moves if max_moves is None else moves[:max_moves]


def _fixed_point(workloads: Sequence[Workload], online: list[str], placement: dict[str, str]) -> dict[str, str]:
    """Applies the best single move until none improves the score (which falls strictly each time)."""
    per_member = counts(workloads, placement, online)
    groups = group_counts(workloads, placement)
    while (best := _best_move(workloads, online, placement, per_member, groups, set())) is not None:
        workload, target, _ = best
        source = placement[workload.name]
        placement[workload.name] = target
        per_member[source] -= 1
        per_member[target] += 1
        if workload.group:
            groups[source][workload.group] -= 1
            groups[target][workload.group] += 1
    return placement


def _ordered(workloads: Sequence[Workload], online: list[str], start: dict[str, str],
             destinations: dict[str, str]) -> list[Move]:
    """One move per instance that ends elsewhere, each next one the best from where the cluster stands."""
    placement, moves = dict(start), []
    pending = dict(destinations)

    def score_after(name: str) -> tuple[int, int, str]:
        after = {**placement, name: pending[name]}
        return violations(workloads, after, online), imbalance(workloads, after, online), name

    while pending:
        name = min(pending, key=score_after)
        source, target = placement[name], pending.pop(name)
        per_member = counts(workloads, placement, online)
        before = violations(workloads, placement, online)
        placement[name] = target
        workload = next(w for w in workloads if w.name == name)
        reason = (f"restores anti-affinity of group {workload.group!r}"
                  if violations(workloads, placement, online) < before else
                  f"evens out instances ({per_member[source]} on {source}, {per_member[target]} on {target})")
        moves.append(Move(name, source, target, reason))
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
