"""The stack as a whole: which top-level settings exist, and what two services must not share.

Checked before anything is declared, after each section's own reader: a misspelt top-level key
(`lxdha:regsitry`) would otherwise be ignored without a word, and two services in one group or with
colliding names would only show up as a confused cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cluster.errors import ConfigError
from config import lxd
from config.containers import KEY as CONTAINERS_KEY
from config.containers import ContainersSettings
from config.registry_secrets import SECRET_KEYS as REGISTRY_SECRET_KEYS
from config.vip_group import VipGroupSettings

KNOWN_KEYS = {
    "lxd": lxd.KEYS,
    "lxdha": ("image", "mirror", "ssh", "sshPrivateKey", "containers", "registry", *REGISTRY_SECRET_KEYS,
              "operations"),
}


def check_stack_keys(keys: Iterable[str]) -> None:
    """Refuses a key in the `lxd` or `lxdha` namespace that nothing reads (other namespaces are not ours)."""
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        known = KNOWN_KEYS.get(namespace)
        if known is not None and name not in known:
            raise ConfigError(key, "is not a setting of this stack (nothing reads it)",
                              f"check the spelling; {namespace}: settings are {', '.join(known)}")


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
