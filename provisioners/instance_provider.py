"""Dynamic provider for a placed container: chooses the member, creates it there, starts it.

Placement runs under a lock with reservations, so parallel creates in one `pulumi up` still
spread evenly. A container left behind by a failed earlier create (same name, our marker) is
adopted instead of duplicated, so the next `pulumi up` converges.
"""

from __future__ import annotations

import sys
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from cluster.connection import LxdEndpoint, lxd_client
from cluster.facts import GROUP_KEY, MANAGED_KEY, OWNER_KEY, read_instance, read_instances, read_members
from cluster.names import instance_name_problem
from cluster.operations import OperationFailed
from cluster.retry import with_retries
from cluster.steps import ensure_created, ensure_deleted, ensure_moved, ensure_running, ownership_problem, wait_for_ipv4
from provisioners.cluster_checks import placement_problems
from provisioners.dynamic_support import fixed_name, with_secret_outputs
from provisioners.placement import choose_member, members_for_placement, with_reservations
from provisioners.reservations import ReservationBook

IN_PLACE_KEYS = ("config", "devices", "profiles")
UPDATE_KEYS = (*IN_PLACE_KEYS, "pinned_member", "group", "image_alias", "replace_on_image_change", "owner")


def instance_body(props: dict[str, Any]) -> dict[str, Any]:
    config = {**(props.get("config") or {}), MANAGED_KEY: "true"}
    if props.get("owner"):
        config[OWNER_KEY] = props["owner"]
    if props.get("group"):
        config[GROUP_KEY] = props["group"]
    return {
        "name": props["name"],
        "type": "container",
        "source": {"type": "image", "alias": props["image_alias"]},
        "profiles": list(props.get("profiles") or ["default"]),
        "config": config,
        "devices": dict(props.get("devices") or {}),
    }


def place(client: Any, endpoint: LxdEndpoint, props: dict[str, Any]) -> str:
    """Chooses the member under the cluster's placement lock and reserves it."""
    book = ReservationBook(endpoint.url + endpoint.server_fingerprint)
    with book.locked():
        instances = read_instances(client)
        members = with_reservations(members_for_placement(read_members(client), instances),
                                    book.pending(exclude={i.name for i in instances}))
        placement = choose_member(members, group=props.get("group"), pinned=props.get("pinned_member"))
        book.reserve(props["name"], placement.member, props.get("group"))
    print(f"placing {props['name']} on {placement.member}: {placement.reason}", file=sys.stderr, flush=True)
    return placement.member


def adoption_problem(name: str, existing: dict[str, Any] | None, owner: str | None) -> str | None:
    """Why an existing instance of that name must not be adopted (it belongs to someone else), or None."""
    if existing is None:
        return None
    problem = ownership_problem(name, existing.get("config") or {}, owner)
    return f"{problem}. Fix: give this stack's containers another prefix, or remove that instance" if problem else None


def observed(client: Any, props: dict[str, Any]) -> dict[str, Any]:
    """Outputs as the cluster reports them now."""
    current = read_instance(client, props["name"]) or {}
    ipv4 = wait_for_ipv4(client, props["name"]) if current.get("status") == "Running" else ""
    return {
        **{k: v for k, v in props.items() if not k.startswith("__")},
        "member": current.get("location", ""),
        "status": current.get("status", ""),
        "ipv4": ipv4,
        "image_fingerprint": (current.get("config") or {}).get("volatile.base_image", ""),
        "uuid": (current.get("config") or {}).get("volatile.uuid", ""),
    }


class InstanceProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        problem = instance_name_problem(news.get("name", ""))
        if problem:
            failures.append(CheckFailure("name", problem))
        if not news.get("image_alias"):
            failures.append(CheckFailure("image_alias", "an image alias is required (e.g. alpine/stable)"))
        if not failures:
            failures += [CheckFailure(field, message) for field, message in placement_problems(news)]
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        name = props["name"]
        with lxd_client(endpoint) as client:
            existing = read_instance(client, name)
            problem = adoption_problem(name, existing, props.get("owner"))
            if problem:
                raise RuntimeError(problem)
            if existing and self._adopted(client, name):
                return CreateResult(name, observed(client, props))
            member = place(client, endpoint, props)
            try:
                ensure_created(client, instance_body(props), member, props.get("owner"))
            finally:
                ReservationBook(endpoint.url + endpoint.server_fingerprint).release(name)
            ensure_running(client, name)
            return CreateResult(name, observed(client, props))

    @staticmethod
    def _adopted(client: Any, name: str) -> bool:
        """Adopts our leftover of an earlier failed create if it starts; a broken one (e.g. a member died
        mid-create: the record exists, its storage does not) is deleted so it can be created afresh.
        It never held anything: the stack had not recorded it yet."""
        print(f"adopting {name} left by an earlier failed run", file=sys.stderr, flush=True)
        try:
            ensure_running(client, name)
            return True
        except OperationFailed as error:
            print(f"{name} cannot start ({error}); deleting the broken leftover and creating it again",
                  file=sys.stderr, flush=True)
            ensure_deleted(client, name)
            return False

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            if read_instance(client, id_) is None:
                return ReadResult(None, {})
            return ReadResult(id_, observed(client, props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in ("name",) if olds.get(key) != news.get(key)]
        if news.get("replace_on_image_change") and olds.get("image_alias") != news.get("image_alias"):
            replaces.append("image_alias")
        changed = [k for k in UPDATE_KEYS if olds.get(k) != news.get(k)]
        if olds.get("pinned_member") and news.get("pinned_member") and olds.get("member") != news["pinned_member"]:
            changed.append("member")
        return DiffResult(changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        endpoint = LxdEndpoint.from_inputs(news["connection"])
        name = news["name"]
        with lxd_client(endpoint) as client:
            body = instance_body(news)
            current = client.api.instances[name].get().json()["metadata"]
            volatile = {k: v for k, v in (current.get("config") or {}).items() if k.startswith("volatile.")}
            patch = {"config": {**body["config"], **volatile}, "devices": body["devices"], "profiles": body["profiles"]}
            with_retries(lambda: client.api.instances[name].patch(json=patch), f"update {name}")
            target = news.get("pinned_member")
            if target:
                ensure_moved(client, name, target)
            return UpdateResult(observed(client, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            ensure_deleted(client, id_)


class PlacedInstance(pulumi.dynamic.Resource):
    """A container created directly on the member placement chose."""

    name: pulumi.Output[str]
    member: pulumi.Output[str]
    ipv4: pulumi.Output[str]
    image_fingerprint: pulumi.Output[str]
    uuid: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outputs = {"member": None, "ipv4": None, "image_fingerprint": None, "status": None, "uuid": None}
        super().__init__(InstanceProvider(), resource_name, {**outputs, **props},
                         with_secret_outputs(fixed_name(opts), ["connection"]))
