"""Reads the cluster for the move planners: members (with address and roles) and every instance as a
Workload, marking which ones the current command may move (its scope)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pylxd

from cluster.facts import MANAGED_KEY, MemberFact, read_instances, read_members
from cluster.retry import with_retries
from ops.moves import Workload
from provisioners.placement import Member, members_for_placement


@dataclass(frozen=True)
class Scope:
    """Which instances a command may move: ours (managed) by default, optionally by name prefix."""

    prefix: str | None = None
    managed_only: bool = True

    def includes(self, name: str, config: dict[str, Any]) -> bool:
        if self.prefix and not name.startswith(self.prefix):
            return False
        return not self.managed_only or config.get(MANAGED_KEY) == "true"

    @property
    def whole_cluster(self) -> bool:
        return self.prefix is None and not self.managed_only

    def describe(self) -> str:
        parts = ["managed instances" if self.managed_only else "all instances"]
        if self.prefix:
            parts.append(f"named {self.prefix}*")
        return " ".join(parts)


@dataclass(frozen=True)
class ClusterSnapshot:
    members: list[Member]
    member_info: dict[str, MemberFact]
    workloads: list[Workload]

    def in_scope(self) -> list[Workload]:
        """The instances the command acts on: the movable ones, and the stateful ones it stops in place."""
        return [w for w in self.workloads if w.movable or w.stateful]

    def leader(self) -> str | None:
        return next((m.name for m in self.member_info.values() if m.leader), None)


def _read(client: pylxd.Client, scope: Scope) -> ClusterSnapshot:
    instances = read_instances(client)
    members = read_members(client)
    workloads = [Workload(i.name, i.location, i.group, scope.includes(i.name, dict(i.config)) and not i.stateful,
                          i.running, i.origin, stateful=bool(i.stateful) and scope.includes(i.name, dict(i.config)))
                 for i in instances]
    return ClusterSnapshot(members_for_placement(members, instances), {m.name: m for m in members}, workloads)


def read_snapshot(client: pylxd.Client, scope: Scope) -> ClusterSnapshot:
    """One consistent-enough read (two listings), retried through transient cluster errors."""
    return with_retries(lambda: _read(client, scope), "read cluster members and instances")
