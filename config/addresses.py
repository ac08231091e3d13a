"""The stack's own service addresses: which settings name them, and whether a VIP is one of the stack's
own endpoints. Pure (a resolver is passed in), so the stack's readers check it before anything exists;
what the cluster knows (members, instances, other stacks' claims) is checked at preview by the claim
(provisioners/address_claims.py), which names the same settings with the same fixes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping

VIP_FIX = ("pick an address nobody has or claims: inside the subnet, outside the DHCP range, not a member's, "
           "an instance's or another stack's VIP")
VRID_FIX = "pick a VRID (1-255) no other stack on this segment uses"

Resolver = Callable[[str], set[str]]


def resolve_ipv4(host: str) -> set[str]:
    """IPv4 addresses of `host` (itself when it is one); empty when it does not resolve."""
    try:
        return {str(ipaddress.IPv4Address(host))}
    except ValueError:
        pass
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None, family=socket.AF_INET)}
    except OSError:
        return set()


def endpoint_holder(vip: str, endpoints: Mapping[str, str], resolve: Resolver = resolve_ipv4) -> str | None:
    """The settings among the stack's own endpoints (setting -> host) whose host is the VIP, or None."""
    holders = [f"{setting} ({host})" for setting, host in endpoints.items() if host and vip in resolve(host)]
    return f"{' and '.join(holders)}: this stack's own endpoint" if holders else None
