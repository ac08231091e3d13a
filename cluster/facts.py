"""What the cluster shows right now: members, instances, and the `user.lxdha.*` marks we keep on them.

Every reader here is a plain GET; the marks are defined once, here, and every module that writes or
reads them imports them from this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pylxd

from cluster.errors import MemberNotOnline
from cluster.operations import get_or_none
from cluster.polling import WaitTimeout, wait_until
from cluster.retry import is_transient

MANAGED_KEY = "user.lxdha.managed"  # "true" on every instance this project created
OWNER_KEY = "user.lxdha.stack"  # <project>/<stack> that manages it: another stack never adopts or deletes it
GROUP_KEY = "user.lxdha.group"  # anti-affinity group: replicas of one group avoid sharing a member
ORIGIN_KEY = "user.lxdha.origin"  # the member an instance was evacuated from, until maintenance moves it back
STATEFUL_KEY = "user.lxdha.stateful"  # the kind of stateful service (e.g. postgres): never moved, its data is local
# LXD's own marks of how far an instance got (seen on LXD 5.0.2): the power state is kept from the first
# start on; templates wait for the first start from the moment a create has made the instance's storage
LAST_POWER_KEY = "volatile.last_state.power"
PENDING_TEMPLATES_KEY = "volatile.apply_template"

ONLINE = "Online"
RUNNING_STATUSES = ("Running", "Ready")  # Ready: running, and it said so itself through /dev/lxd
MEMBER_WAIT_S = 120.0
MEMBER_POLL_S = 1.0


@dataclass(frozen=True)
class MemberFact:
    name: str
    status: str
    address: str = ""
    roles: tuple[str, ...] = ()
    url: str = ""  # https://<address>:<port>, as LXD lists it

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    @property
    def leader(self) -> bool:
        return "database-leader" in self.roles


@dataclass(frozen=True)
class InstanceFact:
    name: str
    location: str
    status: str
    config: Mapping[str, str] = field(default_factory=dict)
    ipv4: tuple[str, ...] = ()  # global IPv4 addresses, when read with state

    @property
    def group(self) -> str | None:
        return self.config.get(GROUP_KEY) or None

    @property
    def managed(self) -> bool:
        return self.config.get(MANAGED_KEY) == "true"

    @property
    def owner(self) -> str | None:
        return self.config.get(OWNER_KEY) or None

    @property
    def origin(self) -> str | None:
        return self.config.get(ORIGIN_KEY) or None

    @property
    def running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def stateful(self) -> str | None:
        return self.config.get(STATEFUL_KEY) or None


def member_from(raw: Mapping[str, Any]) -> MemberFact:
    return MemberFact(raw["server_name"], raw.get("status", ""), urlparse(raw.get("url", "")).hostname or "",
                      tuple(raw.get("roles") or ()), raw.get("url", ""))


def global_addresses(state: Mapping[str, Any] | None, family: str, interface: str | None = None) -> tuple[str, ...]:
    """Global addresses of a family (inet, inet6) in an instance state's `network` section (one interface,
    or all)."""
    networks = (state or {}).get("network") or {}
    names = [interface] if interface else sorted(networks)
    return tuple(address["address"] for name in names for address in (networks.get(name) or {}).get("addresses", [])
                 if address.get("family") == family and address.get("scope") == "global")


def global_ipv4(state: Mapping[str, Any] | None, interface: str | None = None) -> tuple[str, ...]:
    """Global IPv4 addresses in an instance state's `network` section (one interface, or all)."""
    return global_addresses(state, "inet", interface)


def is_running(record: Mapping[str, Any] | None) -> bool:
    """Whether an instance's record (or state) shows it running: Running, or Ready (running, and it said it
    is ready through /dev/lxd)."""
    return (record or {}).get("status") in RUNNING_STATUSES


def instance_from(raw: Mapping[str, Any]) -> InstanceFact:
    return InstanceFact(raw["name"], raw.get("location", ""), raw.get("status", ""), dict(raw.get("config") or {}),
                        global_ipv4(raw.get("state")))


def read_members(client: pylxd.Client) -> list[MemberFact]:
    return [member_from(m) for m in client.api.cluster.members.get(params={"recursion": "1"}).json()["metadata"]]


def read_instance_records(client: pylxd.Client, with_state: bool = True) -> list[dict[str, Any]]:
    """Every instance's record as LXD lists it; `with_state` adds each one's `state` (addresses,
    slower: LXD asks every member)."""
    return client.api.instances.get(params={"recursion": "2" if with_state else "1"}).json()["metadata"]


def read_instances(client: pylxd.Client, with_state: bool = False) -> list[InstanceFact]:
    """Every instance; `with_state` also reads addresses (slower: LXD asks every member)."""
    return [instance_from(raw) for raw in read_instance_records(client, with_state)]


def create_cut_off(record: Mapping[str, Any]) -> bool:
    """True for a record whose create never finished (its member died mid-way): never started, and no
    storage was made for it. Such a record cannot be started, and starting it anyway leaves LXD a plain
    directory where it expects the volume (on btrfs, one it then cannot delete). Containers only: LXD
    records pending templates for containers, not for virtual machines."""
    config = record.get("config") or {}
    return (record.get("type", "container") == "container"
            and LAST_POWER_KEY not in config and PENDING_TEMPLATES_KEY not in config)


def never_started(record: Mapping[str, Any]) -> bool:
    """True for a container whose create finished but which never started (its first-start templates
    still pending, no power state recorded: a start attempt records both). Nothing in it ever ran, so it
    holds nobody's data."""
    config = record.get("config") or {}
    return (record.get("type", "container") == "container"
            and LAST_POWER_KEY not in config and PENDING_TEMPLATES_KEY in config)


def read_instance(client: pylxd.Client, name: str) -> dict[str, Any] | None:
    """The instance's record as LXD returns it, or None when there is no such instance."""
    return get_or_none(client.api.instances[name])


def read_state(client: pylxd.Client, name: str) -> dict[str, Any] | None:
    return get_or_none(client.api.instances[name].state)


def member_statuses(client: pylxd.Client) -> dict[str, str]:
    return {m.name: m.status for m in read_members(client)}


def member_answers(client: pylxd.Client, member: str) -> bool:
    """True when the member's own daemon answers a request forwarded to it (GET /1.0?target=member).

    The member listing is not enough: LXD keeps showing a member whose daemon died ONLINE until its
    heartbeats time out (20 s by default), and every request routed to it fails meanwhile. A transient
    failure means "not now"; any other error (a refused certificate, a bad request) is raised.
    """
    try:
        client.api.get(params={"target": member})
        return True
    except Exception as error:
        if is_transient(error):
            return False
        raise


def wait_member_online(client: pylxd.Client, member: str, timeout_s: float = MEMBER_WAIT_S,
                       poll_s: float = MEMBER_POLL_S) -> None:
    """Returns once `member` is ONLINE and its daemon answers; a member that stays away past `timeout_s`
    is a clear error.

    Read errors while waiting count as "not yet": a restarting member briefly breaks the API too.
    """
    status = ["unknown"]

    def online() -> bool:
        try:
            status[0] = member_statuses(client).get(member, "missing")
        except Exception as error:  # noqa: BLE001 - the cluster may be electing a leader; keep waiting
            status[0] = f"unreadable ({type(error).__name__})"
        if status[0] == "missing":
            raise MemberNotOnline(member, status[0], 0)
        if status[0] == ONLINE:
            if member_answers(client, member):
                return True
            status[0] = "ONLINE in the member list, but its daemon does not answer"
        return False

    try:
        wait_until(online, timeout_s=timeout_s, poll_s=poll_s, what=f"member {member} ONLINE")
    except WaitTimeout:
        raise MemberNotOnline(member, status[0], timeout_s) from None


def names_of(instances: Iterable[InstanceFact]) -> set[str]:
    return {i.name for i in instances}
