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

from provisioners.cluster_checks import placement_problems
from provisioners.cluster_view import GROUP_KEY, list_instances, list_members
from provisioners.connection import LxdEndpoint, lxd_client
from provisioners.dynamic_support import fixed_name, with_secret_outputs
from provisioners.instances import (
    create_instance,
    delete_instance,
    get_instance,
    move_instance,
    set_state,
    wait_for_ipv4,
)
from provisioners.lxd_ops import OperationFailed
from provisioners.names import instance_name_problem
from provisioners.placement import choose_member, with_reservations
from provisioners.reservations import ReservationBook
from provisioners.retry import with_retries

MANAGED_KEY = "user.lxdha.managed"
OWNER_KEY = "user.lxdha.stack"  # project/stack that manages the instance: another stack never adopts it
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
        instances = list_instances(client)
        members = with_reservations(list_members(client, instances),
                                    book.pending(exclude={i.name for i in instances}))
        placement = choose_member(members, group=props.get("group"), pinned=props.get("pinned_member"))
        book.reserve(props["name"], placement.member, props.get("group"))
    print(f"placing {props['name']} on {placement.member}: {placement.reason}", file=sys.stderr, flush=True)
    return placement.member


def adoption_problem(name: str, existing: dict[str, Any] | None, owner: str | None) -> str | None:
    """Why an existing instance of that name must not be adopted (it belongs to someone else), or None."""
    if existing is None:
        return None
    config = existing.get("config") or {}
    if config.get(MANAGED_KEY) != "true":
        return (f"an instance named {name!r} already exists and is not managed by lxdha. Fix: rename the "
                "container in the stack config, or remove that instance")
    current = config.get(OWNER_KEY)
    if current and owner and current != owner:
        return (f"an instance named {name!r} already exists, managed by stack {current}. Fix: give this stack's "
                "containers another prefix; two stacks must never share a container")
    return None


def observed(client: Any, props: dict[str, Any]) -> dict[str, Any]:
    """Outputs as the cluster reports them now."""
    current = get_instance(client, props["name"]) or {}
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
            existing = get_instance(client, name)
            problem = adoption_problem(name, existing, props.get("owner"))
            if problem:
                raise RuntimeError(problem)
            if existing and self._adopted(client, name):
                return CreateResult(name, observed(client, props))
            member = place(client, endpoint, props)
            try:
                with_retries(lambda: create_instance(client, instance_body(props), member), f"create {name}")
            finally:
                ReservationBook(endpoint.url + endpoint.server_fingerprint).release(name)
            with_retries(lambda: set_state(client, name, "start"), f"start {name}")
            return CreateResult(name, observed(client, props))

    @staticmethod
    def _adopted(client: Any, name: str) -> bool:
        """Adopts our leftover of an earlier failed create if it starts; a broken one (e.g. a member died
        mid-create: the record exists, its storage does not) is deleted so it can be created afresh.
        It never held anything: the stack had not recorded it yet."""
        print(f"adopting {name} left by an earlier failed run", file=sys.stderr, flush=True)
        try:
            with_retries(lambda: set_state(client, name, "start"), f"start {name}")
            return True
        except OperationFailed as error:
            print(f"{name} cannot start ({error}); deleting the broken leftover and creating it again",
                  file=sys.stderr, flush=True)
            with_retries(lambda: delete_instance(client, name), f"delete {name}")
            return False

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            if get_instance(client, id_) is None:
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
                move_instance(client, name, target)
            return UpdateResult(observed(client, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            with_retries(lambda: delete_instance(client, id_), f"delete {id_}")


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
