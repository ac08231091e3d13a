"""Where a new container goes: pure decisions over a snapshot of the cluster.

Rules, in order: only ONLINE members; a pinned member wins (if it exists and is online); never a
member that already holds a replica of the same anti-affinity group while another member is free
of it; then the member with the fewest instances (counting reservations not yet visible in LXD);
ties go to the first name, so the decision is deterministic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cluster.errors import ConfigError
from cluster.facts import InstanceFact, MemberFact


@dataclass(frozen=True)
class Member:
    """One cluster member as placement sees it."""

    name: str
    online: bool
    instances: int = 0
    groups: Mapping[str, int] = field(default_factory=dict)  # anti-affinity group -> replicas here


@dataclass(frozen=True)
class Placement:
    member: str
    reason: str


class NoMemberAvailable(RuntimeError):
    """No ONLINE member can take the container."""


def members_for_placement(members: Iterable[MemberFact], instances: Iterable[InstanceFact]) -> list[Member]:
    """Placement's view of the cluster: each member's state, instance count and groups."""
    instances = list(instances)
    per_member = Counter(i.location for i in instances)
    groups: dict[str, Counter] = defaultdict(Counter)
    for instance in instances:
        if instance.group:
            groups[instance.location][instance.group] += 1
    return [Member(m.name, m.online, per_member[m.name], dict(groups[m.name])) for m in members]


def with_reservations(members: Iterable[Member], reservations: Iterable[tuple[str, str | None]]) -> list[Member]:
    """Members with pending placements (member, group) counted as if the instances existed."""
    by_name = {m.name: Member(m.name, m.online, m.instances, dict(m.groups)) for m in members}
    for member_name, group in reservations:
        member = by_name.get(member_name)
        if member is None:
            continue
        groups = dict(member.groups)
        if group:
            groups[group] = groups.get(group, 0) + 1
        by_name[member_name] = Member(member.name, member.online, member.instances + 1, groups)
    return list(by_name.values())


def choose_member(members: Iterable[Member], group: str | None = None, pinned: str | None = None) -> Placement:
    """The member a new container of `group` should be created on."""
    members = list(members)
    if pinned:
        return _pinned(members, pinned)
    online = [m for m in members if m.online]
    if not online:
        raise NoMemberAvailable("no ONLINE cluster member: check `lxc cluster list`")
    candidates = online
    if group:
        free = [m for m in online if m.groups.get(group, 0) == 0]
        if free:
            candidates = free
        else:
            fewest_of_group = min(m.groups.get(group, 0) for m in online)
            candidates = [m for m in online if m.groups.get(group, 0) == fewest_of_group]
    best = min(candidates, key=lambda m: (m.instances, m.name))
    reason = f"fewest instances ({best.instances}) among {len(candidates)} candidate(s)"
    if group:
        reason += f", anti-affinity group {group!r}"
    return Placement(best.name, reason)


def _pinned(members: list[Member], pinned: str) -> Placement:
    names = {m.name: m for m in members}
    if pinned not in names:
        raise ConfigError("member", f"pinned member {pinned!r} is not in the cluster ({', '.join(sorted(names))})",
                          "pin one of the listed members, or remove the pin")
    if not names[pinned].online:
        raise NoMemberAvailable(f"pinned member {pinned!r} is not ONLINE")
    return Placement(pinned, "pinned")


def spread(members: Iterable[Member]) -> int:
    """max - min instances over ONLINE members: 0 or 1 means even."""
    counts = [m.instances for m in members if m.online]
    return max(counts) - min(counts) if counts else 0
