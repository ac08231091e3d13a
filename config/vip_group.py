"""What every group of replicas behind one keepalived VIP is configured with (the registry's replicas,
an HAProxy group): how many and where, their names and anti-affinity group, and the VRRP address they
share. One reader for all of them, so each service's section is checked by the same rules and its
messages name its own keys (`lxdha:registry.vip`, `lxdha:postgres.haproxy.vrid`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cluster.errors import ConfigError
from cluster.names import instance_name_problem
from config.addresses import VIP_FIX, Resolver, endpoint_holder, resolve_ipv4
from config.checks import ipv4_range_problem
from config.section import Section

KNOWN = ("advertIntervalS", "allowReplicasOverMembers", "group", "network", "prefix", "replicas", "vip", "vrid",
         "vrrpPasswordFile", "vrrpVersion")
NETWORK_KNOWN = ("subnet", "dhcpRange")
MAX_REPLICAS = 9
# keepalived (vrrp.c) and the VRRP packet: v3 carries the interval as 12 bits of centiseconds (RFC 5798),
# v2 as 8 bits of whole seconds (RFC 3768). Anything else keepalived rounds or clamps without failing.
ADVERT_INTERVAL_S = {3: (0.01, 40.95), 2: (1, 255)}
DEFAULT_ADVERT_INTERVAL_S = {3: 0.3, 2: 1}


@dataclass(frozen=True)
class VrrpSettings:
    vip: str
    prefix_len: int
    vrid: int
    advert_interval_s: float
    version: int

    @property
    def subnet(self) -> str:
        """The VIP's segment, e.g. 10.91.0.0/24 (a VRID is unique on it)."""
        return str(ipaddress.IPv4Interface(f"{self.vip}/{self.prefix_len}").network)


@dataclass(frozen=True)
class VipGroupSettings:
    key: str  # where they come from, e.g. lxdha:registry: messages and address claims name its keys
    replicas: int
    prefix: str
    group: str
    allow_replicas_over_members: bool
    vrrp: VrrpSettings

    def names(self) -> list[str]:
        return [f"{self.prefix}-{index}" for index in range(self.replicas)]

    def setting(self, field: str) -> str:
        return f"{self.key}.{field}"


def _advert_interval(reader: Section, version: int) -> float:
    low, high = ADVERT_INTERVAL_S[version]
    interval = reader.raw.get("advertIntervalS", DEFAULT_ADVERT_INTERVAL_S[version])
    fix = ("use 0.3 for a ~1 s failover, 1 for keepalived's default" if version == 3 else
           "use vrrpVersion 3 for sub-second adverts, or a whole number of seconds")
    number = isinstance(interval, (int, float)) and not isinstance(interval, bool)
    steps = interval * (100 if version == 3 else 1) if number else 0
    if number and abs(steps - round(steps)) > 1e-9:
        raise reader.fail("advertIntervalS", f"VRRPv{version} adverts are whole "
                          f"{'centi' if version == 3 else ''}seconds, not {interval}", fix)
    if not number or not low <= interval <= high:
        raise reader.fail("advertIntervalS", f"{interval!r} is not a number of seconds from {low} to {high} "
                          f"(VRRPv{version})", fix)
    return float(interval)


@dataclass(frozen=True)
class NetworkSettings:
    """The segment the service's containers are on, as the LXD network hands out its addresses."""

    subnet: ipaddress.IPv4Network
    dhcp_range: tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None


def network_settings(raw: dict[str, Any], key: str) -> NetworkSettings:
    """`<key>.network`: the subnet, and the DHCP range inside it, lower address first."""
    reader = Section(raw, key)
    network = reader.section("network", NETWORK_KNOWN)
    if not network or not network.get("subnet"):
        raise reader.fail("network.subnet", "is not set", "set the containers' subnet, e.g. 10.0.0.0/24, so addresses "
                          "can be checked against it")
    try:
        subnet = ipaddress.IPv4Network(str(network["subnet"]), strict=True)
    except ValueError as error:
        raise reader.fail("network.subnet", f"{network['subnet']!r} is not an IPv4 network ({error})",
                          "write it as address/prefix, e.g. 10.0.0.0/24") from None
    dhcp = network.get("dhcpRange")
    if not dhcp:
        return NetworkSettings(subnet, None)
    problem = ipv4_range_problem(dhcp, subnet)
    if problem:
        raise reader.fail("network.dhcpRange", problem, "copy the LXD network's ipv4.dhcp.ranges: [first, last], "
                          f"both inside {subnet}, the lower address first")
    low, high = (ipaddress.IPv4Address(str(end)) for end in dhcp)
    return NetworkSettings(subnet, (low, high))


def _vrrp(reader: Section, default_vrid: int) -> VrrpSettings:
    network = network_settings(reader.raw, reader.key)
    subnet = network.subnet
    vip_text = reader.text("vip")
    try:
        vip = ipaddress.IPv4Address(vip_text)
    except ValueError:
        raise reader.fail("vip", f"{vip_text!r} is not an IPv4 address", "use a free address of the subnet") from None
    if vip not in subnet or vip in (subnet.network_address, subnet.broadcast_address):
        raise reader.fail("vip", f"{vip} is outside the subnet {subnet}", f"pick a free host address inside {subnet}")
    if network.dhcp_range and network.dhcp_range[0] <= vip <= network.dhcp_range[1]:
        low, high = network.dhcp_range
        raise reader.fail("vip", f"{vip} is inside the DHCP range {low}-{high}: a container could be leased it",
                          "pick an address outside the DHCP range (reserve one for services)")
    version = reader.whole("vrrpVersion", 3, 2, 3, "use 3 (sub-second adverts) or 2")
    interval = _advert_interval(reader, version)
    vrid = reader.whole("vrid", default_vrid, 1, 255, "pick a VRRP router id from 1 to 255, unique on the segment")
    return VrrpSettings(str(vip), subnet.prefixlen, vrid, interval, version)


def vip_group_settings(raw: dict[str, Any], key: str, *, default_prefix: str, default_vrid: int,
                       min_replicas: int = 2) -> VipGroupSettings:
    """The group's settings from the section at `key` (only the fields in KNOWN are read here; the
    caller checks the section's other keys)."""
    reader = Section(raw, key)
    replicas = raw.get("replicas", min_replicas)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < min_replicas:
        raise reader.fail("replicas", f"{replicas!r} replicas is not highly available",
                          f"use {min_replicas} or more replicas")
    if replicas > MAX_REPLICAS:
        raise reader.fail("replicas", f"{replicas} is more than {MAX_REPLICAS}", "VRRP peers beyond a handful add "
                          "nothing; use fewer replicas")
    prefix = reader.text("prefix", default_prefix)
    problem = instance_name_problem(f"{prefix}-{replicas - 1}")
    if problem:
        raise reader.fail("prefix", problem, "use a short prefix of letters, digits and '-'")
    group = reader.text("group", prefix)
    if instance_name_problem(group):
        raise reader.fail("group", f"{group!r} is not a valid group name", "use letters, digits and '-'")
    allow = reader.flag("allowReplicasOverMembers", False)
    return VipGroupSettings(key, replicas, prefix, group, allow, _vrrp(reader, default_vrid))


def check_vip_is_not_an_endpoint(group: VipGroupSettings, endpoints: Mapping[str, str],
                                 resolve: Resolver = resolve_ipv4) -> None:
    """Refuses a VIP that is one of the stack's own endpoints (setting -> host), naming which. What the
    cluster knows (members, instances, other stacks' claims) is checked at preview by the claim."""
    holder = endpoint_holder(group.vrrp.vip, endpoints, resolve)
    if holder:
        raise ConfigError(group.setting("vip"), f"{group.vrrp.vip} is already taken by {holder}", VIP_FIX)
