"""Reads the cluster as placement sees it: members, their state, and what runs where."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import pylxd

from provisioners.placement import Member

GROUP_KEY = "user.lxdha.group"


@dataclass(frozen=True)
class InstanceInfo:
    name: str
    location: str
    status: str
    group: str | None


def list_instances(client: pylxd.Client) -> list[InstanceInfo]:
    response = client.api.instances.get(params={"recursion": "1"})
    return [
        InstanceInfo(i["name"], i.get("location", ""), i.get("status", ""), (i.get("config") or {}).get(GROUP_KEY))
        for i in response.json()["metadata"]
    ]


def list_members(client: pylxd.Client, instances: list[InstanceInfo]) -> list[Member]:
    response = client.api.cluster.members.get(params={"recursion": "1"})
    per_member = Counter(i.location for i in instances)
    groups: dict[str, Counter] = defaultdict(Counter)
    for instance in instances:
        if instance.group:
            groups[instance.location][instance.group] += 1
    return [
        Member(m["server_name"], m.get("status") == "Online", per_member[m["server_name"]],
               dict(groups[m["server_name"]]))
        for m in response.json()["metadata"]
    ]
