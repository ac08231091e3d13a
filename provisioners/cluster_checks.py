"""Checks against the live cluster that belong in `check` (preview), before anything is created."""

from __future__ import annotations

from typing import Any

from cluster.connection import LxdEndpoint, lxd_client
from cluster.errors import ConfigError, ConnectionSetupError
from cluster.facts import read_members


def placement_problems(props: dict[str, Any]) -> list[tuple[str, str]]:
    """(input, message) pairs for a pinned member that does not exist or a group larger than the cluster."""
    group_size = int(props.get("group_size") or 0)
    pinned = props.get("pinned_member")
    if not pinned and not (group_size and not props.get("allow_group_overcommit")):
        return []
    try:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            members = read_members(client)
    except (ConfigError, ConnectionSetupError) as error:
        # reported against `name`: a failure on `connection` would make Pulumi print that secret input
        return [("name", str(error))]
    names = sorted(member.name for member in members)
    problems = []
    if pinned and pinned not in names:
        problems.append(("pinned_member", f"pinned member {pinned!r} is not in the cluster ({', '.join(names)}). "
                                          "Fix: pin one of those members, or remove the pin"))
    if group_size > len(names) and not props.get("allow_group_overcommit"):
        problems.append(("group_size", f"{group_size} replicas of group {props.get('group')!r} but the cluster has "
                                       f"{len(names)} members, so two would share a member. Fix: lower the "
                                       "replica count, add members, or allow it explicitly "
                                       "(allowReplicasOverMembers: true)"))
    return problems
