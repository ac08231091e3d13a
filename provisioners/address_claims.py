"""Service addresses that cannot collide: who already has or claims a VIP or a VRID, and the claims.

A VIP is free only if nobody has it and nobody claims it: it is none of the stack's own endpoints, no
cluster member's address, no address an instance reports (except the replicas of the service that
claims it: the MASTER carries the VIP itself), and no other stack's claim. A VRID is unique among the
stacks on a segment (overlapping subnets).

Claims live in the cluster, where every stack can read them: one LXD profile per claimed value, its
name derived from the value (`lxdha-claim-vip-10-91-0-240`, `lxdha-claim-vrid-10-91-0-0-24-51`), so
creating it is atomic (a second create of that name fails: the first stack wins). The profile carries
the owner (`user.lxdha.stack=<project>/<stack>`) and the claimed values; only the owner adopts or
releases it. Nothing uses these profiles; they are records.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from cluster.errors import ActionableError
from cluster.facts import OWNER_KEY, InstanceFact, MemberFact, read_instances, read_members
from cluster.operations import get_or_none
from cluster.retry import is_transient, with_retries
from config.addresses import VIP_FIX, VRID_FIX

CLAIM_PREFIX = "lxdha-claim-"
VIP_KEY = "user.lxdha.claim.vip"
SUBNET_KEY = "user.lxdha.claim.subnet"
VRID_KEY = "user.lxdha.claim.vrid"
SERVICE_KEY = "user.lxdha.claim.service"
SETTING_KEY = "user.lxdha.claim.setting"  # the stack setting that asked for it, e.g. lxdha:registry


class ClaimConflict(ActionableError, RuntimeError):
    """Another stack created the claim first: it holds the value."""


def _dashed(text: str) -> str:
    return text.replace(".", "-").replace("/", "-").replace(":", "-")


def vip_claim_name(vip: str) -> str:
    return f"{CLAIM_PREFIX}vip-{_dashed(vip)}"


def vrid_claim_name(subnet: str, vrid: int) -> str:
    return f"{CLAIM_PREFIX}vrid-{_dashed(str(ipaddress.IPv4Network(subnet, strict=False)))}-{vrid}"


@dataclass(frozen=True)
class ClaimRequest:
    """What one stack's service claims: its VIP, and its VRID on the VIP's segment."""

    owner: str  # <project>/<stack>
    service: str  # for people reading the profile, e.g. "registry (replicas registry-0..1)"
    vip: str
    subnet: str
    vrid: int
    replicas: tuple[str, ...] = ()  # instances that may carry the VIP (this service's own replicas)
    setting: str = "lxdha:registry"  # the stack setting the values come from: messages name its keys

    def profiles(self) -> dict[str, dict[str, str]]:
        """Profile name -> config, for the VIP claim and the VRID claim."""
        common = {OWNER_KEY: self.owner, SERVICE_KEY: self.service, SETTING_KEY: self.setting}
        return {
            vip_claim_name(self.vip): {**common, VIP_KEY: self.vip, SUBNET_KEY: self.subnet},
            vrid_claim_name(self.subnet, self.vrid): {**common, SUBNET_KEY: self.subnet, VRID_KEY: str(self.vrid)},
        }

    def names(self) -> list[str]:
        return sorted(self.profiles())


@dataclass(frozen=True)
class Claim:
    name: str
    owner: str
    service: str = ""
    vip: str | None = None
    subnet: str | None = None
    vrid: int | None = None
    setting: str = ""  # empty on claims made before settings were recorded: the stack's only service then

    def holder(self) -> str:
        service = f", {self.service}" if self.service else ""
        return f"stack {self.owner or '(unknown owner)'} (claim {self.name}{service})"


def claim_from(profile: Mapping[str, Any]) -> Claim | None:
    """The claim a profile records, or None for any other profile."""
    name = str(profile.get("name", ""))
    if not name.startswith(CLAIM_PREFIX):
        return None
    config = profile.get("config") or {}
    vrid = config.get(VRID_KEY)
    return Claim(name, config.get(OWNER_KEY, ""), config.get(SERVICE_KEY, ""), config.get(VIP_KEY) or None,
                 config.get(SUBNET_KEY) or None, int(vrid) if str(vrid or "").isdigit() else None,
                 config.get(SETTING_KEY, ""))


def someone_else(claim: Claim, request: ClaimRequest) -> bool:
    """True when `claim` is not this request's own: another stack's, or another service's of this stack."""
    return claim.owner != request.owner or bool(claim.setting and claim.setting != request.setting)


def read_claims(client: pylxd.Client) -> list[Claim]:
    listed = client.api.profiles.get(params={"recursion": "1"}).json()["metadata"]
    return [claim for claim in map(claim_from, listed) if claim is not None]


def _overlap(first: str | None, second: str | None) -> bool:
    try:
        return ipaddress.IPv4Network(str(first), strict=False).overlaps(ipaddress.IPv4Network(str(second),
                                                                                              strict=False))
    except ValueError:
        return False


def vip_holder(request: ClaimRequest, members: Iterable[MemberFact], instances: Iterable[InstanceFact],
               claims: Iterable[Claim]) -> str | None:
    """Who already has or claims the VIP (a member, an instance, another stack), or None when it is free."""
    for member in members:
        if member.address == request.vip:
            return f"cluster member {member.name}"
    for instance in instances:
        own_replica = instance.name in request.replicas and instance.owner == request.owner
        if request.vip in instance.ipv4 and not own_replica:
            whose = f"stack {instance.owner}" if instance.owner else (
                "lxdha, no owner mark" if instance.managed else "created outside lxdha")
            return f"instance {instance.name} ({whose})"
    for claim in claims:
        if claim.vip == request.vip and someone_else(claim, request):
            return claim.holder()
    return None


def vrid_holder(request: ClaimRequest, claims: Iterable[Claim]) -> str | None:
    """Another stack whose VRID claim is the same number on an overlapping subnet, or None."""
    for claim in claims:
        if claim.vrid == request.vrid and someone_else(claim, request) and _overlap(claim.subnet, request.subnet):
            return claim.holder()
    return None


def collision_problems(request: ClaimRequest, members: Iterable[MemberFact], instances: Iterable[InstanceFact],
                       claims: Iterable[Claim]) -> list[tuple[str, str]]:
    """(input, message) for each value someone else has or claims; empty when both are free."""
    claims = list(claims)
    problems = []
    holder = vip_holder(request, members, instances, claims)
    if holder:
        problems.append(("vip", str(ActionableError(f"{request.setting}.vip",
                                                    f"{request.vip} is already taken by {holder}", VIP_FIX))))
    holder = vrid_holder(request, claims)
    if holder:
        problems.append(("vrid", str(ActionableError(
            f"{request.setting}.vrid", f"VRID {request.vrid} on {request.subnet} is already used by {holder}",
            VRID_FIX))))
    return problems


def read_facts(client: pylxd.Client) -> tuple[list[MemberFact], list[InstanceFact], list[Claim]]:
    """Members (none on a standalone server), every instance with its addresses, and every claim."""
    def attempt() -> tuple[list[MemberFact], list[InstanceFact], list[Claim]]:
        return (read_members(client) if client.server_clustered else [], read_instances(client, with_state=True),
                read_claims(client))

    return with_retries(attempt, "read members, instances and address claims")


def _read_profile(client: pylxd.Client, name: str) -> dict[str, Any] | None:
    return get_or_none(client.api.profiles[name])


def _conflict(request: ClaimRequest, name: str, profile: Mapping[str, Any]) -> ClaimConflict:
    holder = (claim_from(profile) or Claim(name, "")).holder()
    if name == vip_claim_name(request.vip):
        return ClaimConflict(f"{request.setting}.vip", f"{request.vip} is already claimed by {holder}", VIP_FIX)
    return ClaimConflict(f"{request.setting}.vrid",
                         f"VRID {request.vrid} on {request.subnet} is already claimed by {holder}", VRID_FIX)


def _claim_one(client: pylxd.Client, request: ClaimRequest, name: str, config: dict[str, str]) -> bool:
    """Creates the claim profile, or adopts it when it is already ours. True when this call created it."""

    def settle(profile: Mapping[str, Any]) -> bool:
        claim = claim_from(profile)
        if claim is None or someone_else(claim, request):
            raise _conflict(request, name, profile)
        return False  # ours: an earlier run (or an attempt whose answer was lost) created it

    def attempt() -> bool:
        existing = _read_profile(client, name)  # every attempt starts from what the cluster shows
        if existing is not None:
            return settle(existing)
        try:
            client.api.profiles.post(json={"name": name, "config": config,
                                           "description": f"lxdha address claim of {request.owner}"})
        except LXDAPIException as error:
            if is_transient(error):
                raise
            raced = _read_profile(client, name)  # e.g. 409: someone created it between our read and our create
            if raced is None:
                raise
            return settle(raced)
        return True

    return with_retries(attempt, f"claim {name}")


def ensure_claimed(client: pylxd.Client, request: ClaimRequest) -> list[str]:
    """Claims the VIP and the VRID (idempotent); on a conflict nothing this call created is left behind."""
    created: list[str] = []
    try:
        for name, config in sorted(request.profiles().items()):
            if _claim_one(client, request, name, config):
                created.append(name)
    except Exception:
        release(client, created, request.owner)
        raise
    return request.names()


def release(client: pylxd.Client, names: Iterable[str], owner: str) -> list[str]:
    """Deletes the named claims that belong to `owner` (gone already is fine); returns those deleted."""
    released = []
    for name in names:
        def attempt(name: str = name) -> bool:
            existing = _read_profile(client, name)
            if existing is None or (existing.get("config") or {}).get(OWNER_KEY) != owner:
                return False  # gone, or another stack's: never ours to delete
            try:
                client.api.profiles[name].delete()
            except NotFound:
                return False
            return True

        if with_retries(attempt, f"release {name}"):
            released.append(name)
    return released


def held(client: pylxd.Client, request: ClaimRequest) -> bool:
    """True when every claim of `request` exists in the cluster and is the owner's."""
    for name in request.names():
        profile = _read_profile(client, name)
        if profile is None or (profile.get("config") or {}).get(OWNER_KEY) != request.owner:
            return False
    return True
