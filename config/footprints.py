"""What each of the stack's services takes in the cluster and on the segment (containers' names,
anti-affinity groups, VIPs, VRIDs), and the check that no two of them take the same."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cluster.errors import ConfigError
from config.containers import KEY as CONTAINERS_KEY
from config.containers import ContainersSettings
from config.vip_group import VipGroupSettings


@dataclass(frozen=True)
class Footprint:
    """What one service of the stack takes in the cluster: its containers' names, their anti-affinity
    group, and the VIP and VRID it shares (for a group behind keepalived)."""

    key: str  # the service's settings, e.g. lxdha:registry
    names: tuple[str, ...]
    group: str | None = None
    vip_group: VipGroupSettings | None = None


def check_services_apart(services: Iterable[Footprint]) -> None:
    """The stack's services share the cluster and the segment: no two may name a container alike, share an
    anti-affinity group (placement and the operations commands would count one's containers as the other's
    replicas), or hold the same VIP or VRID."""
    seen: list[Footprint] = []
    for service in services:
        for other in seen:
            clash = sorted(set(service.names) & set(other.names))
            if clash:
                raise ConfigError(f"{service.key}.prefix", f"its container {clash[0]} would collide with one of "
                                  f"{other.key}", f"give {service.key} and {other.key} different prefixes")
            if service.group and service.group == other.group:
                raise ConfigError(f"{service.key}.group", f"{service.group!r} is also the anti-affinity group of "
                                  f"{other.key}: placement and the operations commands would count one's containers "
                                  "as the other's replicas", f"give {service.key} a group of its own")
            if service.vip_group and other.vip_group:
                _vips_apart(service.vip_group, other.vip_group)
        seen.append(service)


def _vips_apart(group: VipGroupSettings, other: VipGroupSettings) -> None:
    if group.vrrp.vip == other.vrrp.vip:
        raise ConfigError(group.setting("vip"), f"{group.vrrp.vip} is also the VIP of {other.key}",
                          "give every service a VIP of its own")
    if group.vrrp.vrid == other.vrrp.vrid and group.vrrp.subnet == other.vrrp.subnet:
        raise ConfigError(group.setting("vrid"), f"VRID {group.vrrp.vrid} is also {other.key}'s on "
                          f"{group.vrrp.subnet}: keepalived would join the two groups",
                          "give every service its own VRID")


def containers_footprint(containers: ContainersSettings) -> Footprint:
    return Footprint(CONTAINERS_KEY, tuple(containers.names()), containers.group)


def vip_group_footprint(group: VipGroupSettings) -> Footprint:
    return Footprint(group.key, tuple(group.names()), group.group, group)
