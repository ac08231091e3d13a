"""What the move planners reason about: instances where they are, and the moves between members.

Pure data and scoring, shared by rebalance and evacuation so both judge a cluster the same way:
first anti-affinity violations (replicas of one group sharing a member), then imbalance.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provisioners.placement import Member


@dataclass(frozen=True)
class Workload:
    """One instance as the planners see it; `movable` is False for instances outside the scope."""

    name: str
    member: str
    group: str | None = None
    movable: bool = True
    running: bool = True
    origin: str | None = None  # the member it was evacuated from (or stopped on), while maintenance is under way
    stateful: bool = False  # its data is on the member (a database member): stopped in place, never moved


@dataclass(frozen=True)
class Move:
    instance: str
    source: str
    target: str
    reason: str

    def describe(self) -> str:
        return f"move {self.instance} {self.source} -> {self.target} ({self.reason})"


def online_names(members: Iterable[Member]) -> list[str]:
    return sorted(m.name for m in members if m.online)


def counts(workloads: Iterable[Workload], placement: Mapping[str, str], online: Iterable[str]) -> Counter:
    """Instances per ONLINE member (zero entries included) under `placement` (name -> member)."""
    result = Counter({name: 0 for name in online})
    for workload in workloads:
        member = placement[workload.name]
        if member in result:
            result[member] += 1
    return result


def group_counts(workloads: Iterable[Workload], placement: Mapping[str, str]) -> dict[str, Counter]:
    """member -> group -> replicas there."""
    result: dict[str, Counter] = defaultdict(Counter)
    for workload in workloads:
        if workload.group:
            result[placement[workload.name]][workload.group] += 1
    return result


def violations(workloads: Iterable[Workload], placement: Mapping[str, str], online: Iterable[str]) -> int:
    """Replicas sharing an ONLINE member with another replica of their group (0 = anti-affinity holds)."""
    online = set(online)
    by_member = group_counts(workloads, placement)
    return sum(max(0, n - 1) for member, groups in by_member.items() if member in online for n in groups.values())


def spread_of(workloads: Iterable[Workload], placement: Mapping[str, str], online: Iterable[str]) -> int:
    """max - min instances over ONLINE members (0 or 1 = even)."""
    values = list(counts(workloads, placement, online).values())
    return max(values) - min(values) if values else 0


def imbalance(workloads: Iterable[Workload], placement: Mapping[str, str], online: Iterable[str]) -> int:
    """Sum of squared instance counts: strictly smaller after any move from a fuller to an emptier member
    (by at least 2), which is exactly the kind of move that never widens the spread."""
    return sum(n * n for n in counts(workloads, placement, online).values())


def members_as_placement_sees_them(members: Iterable[Member], workloads: Iterable[Workload],
                                   placement: Mapping[str, str], exclude: str | None = None) -> list[Member]:
    """placement.Member records with counts from `placement`, for reusing choose_member."""
    workloads = list(workloads)
    per_member = Counter(placement[w.name] for w in workloads)
    groups = group_counts(workloads, placement)
    return [Member(m.name, m.online, per_member[m.name], dict(groups.get(m.name, {})))
            for m in members if m.name != exclude]
