"""Placement as a step of its own: which member a new container goes to, decided before it exists.

The decision (provisioners/placement.py) runs under a file lock with reservations, so parallel creates
in one `pulumi up` still spread evenly; a reservation holds until LXD lists the instance. The chosen
member becomes the `target` of the lxd.Instance. A container that already exists (ours, e.g. while
migrating a stack or after a failed run) is "placed" where it is, so nothing is moved for it.
The member is decided once: a later rebalance or maintenance moves the container, the placement
stays, and `pulumi up` moves nothing back. A pinned member changes it; a member that left the
cluster (a re-created cluster) makes `refresh` forget it, so the next up places again.
"""

from __future__ import annotations

import logging
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from cluster.connection import SHARED, LxdEndpoint, shared_client
from cluster.errors import ActionableError
from cluster.facts import read_instance, read_instances, read_members
from cluster.names import instance_name_problem
from cluster.retry import with_retries
from provisioners.dynamic_support import ClusterProvider
from provisioners.placement import choose_member, members_for_placement, with_reservations
from provisioners.reservations import ReservationBook

log = logging.getLogger(__name__)


def group_problems(members: list[str], props: dict[str, Any]) -> list[tuple[str, str]]:
    """A pinned member that does not exist, or more replicas of a group than members."""
    problems = []
    pinned, group_size = props.get("pinned_member"), int(props.get("group_size") or 0)
    if pinned and pinned not in members:
        problems.append(("pinned_member", f"pinned member {pinned!r} is not in the cluster ({', '.join(members)}). "
                                          "Fix: pin one of those members, or remove the pin"))
    if group_size > len(members) and not props.get("allow_group_overcommit"):
        problems.append(("group_size", f"{group_size} replicas of group {props.get('group')!r} but the cluster has "
                                       f"{len(members)} members, so two would share a member. Fix: lower the "
                                       "replica count, add members, or allow it explicitly "
                                       f"({props.get('overcommit_setting') or 'allowReplicasOverMembers'}: true)"))
    return problems


def member_names(endpoint: LxdEndpoint) -> frozenset[str]:
    """The cluster's members; one listing answers the checks and reads of every placement in a refresh."""
    with shared_client(endpoint) as client:
        return SHARED.recent_reads(endpoint).get("members", lambda: frozenset(
            m.name for m in with_retries(lambda: read_members(client), "read cluster members")))


class PlacementProvider(ClusterProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        problem = instance_name_problem(news.get("name", ""))
        if problem:
            return CheckResult(news, [CheckFailure("name", problem)])
        try:
            members = sorted(member_names(self.endpoint()))
        except ActionableError as error:
            return CheckResult(news, [CheckFailure("name", str(error))])
        return CheckResult(news, [CheckFailure(key, message) for key, message in group_problems(members, news)])

    def _place(self, props: dict[str, Any]) -> str:
        endpoint = self.endpoint()
        name = props["name"]
        book = ReservationBook(endpoint.url + endpoint.server_fingerprint)
        with shared_client(endpoint) as client:
            existing = with_retries(lambda: read_instance(client, name), f"read {name}")
            if existing is not None and not props.get("pinned_member"):
                return existing["location"]  # already there (ours or not: the instance's create decides)
            with book.locked():
                instances = with_retries(lambda: read_instances(client), "read instances")
                members = with_retries(lambda: read_members(client), "read cluster members")
                pending = book.pending(exclude={i.name for i in instances} | {name})
                placement = choose_member(with_reservations(members_for_placement(members, instances), pending),
                                          group=props.get("group"), pinned=props.get("pinned_member"))
                book.reserve(name, placement.member, props.get("group"))
        log.info("placing %s on %s: %s", name, placement.member, placement.reason)
        return placement.member

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["name"], {**props, "member": self._place(props)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["name"] if olds.get("name") != news.get("name") else []
        pinned = news.get("pinned_member")
        repin = bool(pinned) and pinned != olds.get("member")
        bookkeeping = [k for k in ("group", "group_size", "allow_group_overcommit") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces or repin or bookkeeping), replaces=replaces,
                          delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        pinned = news.get("pinned_member")
        return UpdateResult({**news, "member": pinned or olds.get("member")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if props.get("member") not in member_names(self.endpoint()):
            return ReadResult(None, {})  # that member is gone (a re-created cluster): place again
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint = self.endpoint()
        ReservationBook(endpoint.url + endpoint.server_fingerprint).release(props["name"])


class Placement(pulumi.dynamic.Resource):
    """The member a container goes to (output `member`), chosen to keep the cluster even."""

    member: pulumi.Output[str]

    def __init__(self, resource_name: str, name: pulumi.Input[str], group: str | None = None,
                 pinned_member: str | None = None, group_size: int = 0, allow_group_overcommit: bool = False,
                 overcommit_setting: str | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PlacementProvider(), resource_name, {
            "name": name, "group": group, "pinned_member": pinned_member, "group_size": group_size,
            "allow_group_overcommit": allow_group_overcommit, "overcommit_setting": overcommit_setting,
            "member": None}, opts)
