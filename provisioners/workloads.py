"""Reads the cluster for the move planners: members (with address and roles) and every instance as a
Workload, marking which ones the current command may move (its scope)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pylxd

from provisioners.cluster_view import GROUP_KEY, InstanceInfo, list_members
from provisioners.moves import Workload
from provisioners.placement import Member
from provisioners.retry import with_retries

MANAGED_KEY = "user.lxdha.managed"  # set by instance_provider.instance_body on every container we create
ORIGIN_KEY = "user.lxdha.origin"  # the member an instance was evacuated from, until it is moved back


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
class MemberInfo:
    name: str
    status: str
    address: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSnapshot:
    members: list[Member]
    member_info: dict[str, MemberInfo]
    workloads: list[Workload]

    def in_scope(self) -> list[Workload]:
        return [w for w in self.workloads if w.movable]

    def leader(self) -> str | None:
        return next((m.name for m in self.member_info.values() if "database-leader" in m.roles), None)


def _read(client: pylxd.Client, scope: Scope) -> ClusterSnapshot:
    instances = client.api.instances.get(params={"recursion": "1"}).json()["metadata"]
    workloads = []
    infos = []
    for item in instances:
        config = item.get("config") or {}
        location, status = item.get("location", ""), item.get("status", "")
        workloads.append(Workload(item["name"], location, config.get(GROUP_KEY), scope.includes(item["name"], config),
                                  status == "Running", config.get(ORIGIN_KEY) or None))
        infos.append(InstanceInfo(item["name"], location, status, config.get(GROUP_KEY)))
    members = list_members(client, infos)
    raw_members = client.api.cluster.members.get(params={"recursion": "1"}).json()["metadata"]
    member_info = {
        m["server_name"]: MemberInfo(m["server_name"], m.get("status", ""),
                                     urlparse(m.get("url", "")).hostname or "", tuple(m.get("roles") or ()))
        for m in raw_members
    }
    return ClusterSnapshot(members, member_info, workloads)


def read_snapshot(client: pylxd.Client, scope: Scope) -> ClusterSnapshot:
    """One consistent-enough read (two listings), retried through transient cluster errors."""
    return with_retries(lambda: _read(client, scope), "read cluster members and instances")
