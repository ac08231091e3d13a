"""What a declaration refers to must exist when it is applied: an image, profiles, a storage pool, a
network, a project, a cluster member. `check` asks the cluster at preview, so a wrong name fails before
anything is made, with the property, the value and the fix named.

Something the same program declares counts as there: an lxd.Profile, lxd.Network or lxd.StoragePool,
or an lxd.CachedImage's aliases, each recorded when the engine checks it. A resource that uses such an
object's output is checked after it (the engine waits for the output), and made after it at `up`.
Only a reference that is new or changed is checked: what an object already refers to was accepted when
it was applied, even if it is gone since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pylxd

from cluster.facts import read_members
from cluster.images import read_alias, read_image
from cluster.operations import get_or_none
from cluster.retry import with_retries
from lxd_provider.values import UNKNOWN, known_list, known_map

Failures = list[tuple[str, str]]
FINGERPRINT_CHARS = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Reference:
    """`prop` (at `where` inside it, e.g. a device's pool) names a `kind` of object: `name`."""

    prop: str
    kind: str  # image, profile, storage pool, network, project, member
    name: Any  # UNKNOWN until the engine knows it
    where: str = ""


class Declared:
    """The objects this run's program declares, by kind, as the engine checks them (a plugin process
    serves one run); `detail` is what a reference may need to know (a pool's driver)."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, name: Any, detail: Any = None) -> None:
        if isinstance(name, str) and name:
            with self._lock:
                self._objects[(kind, name)] = detail

    def find(self, kind: str, name: str) -> tuple[bool, Any]:
        with self._lock:
            return (kind, name) in self._objects, self._objects.get((kind, name))


def _image(client: pylxd.Client, name: str) -> Any:
    alias = read_alias(client, name)
    if alias is not None:
        return alias.get("type", "container")
    image = read_image(client, name) if set(name) <= FINGERPRINT_CHARS and len(name) >= 12 else None
    return image.get("type", "container") if image else None


def _named(collection: str, detail: str) -> Callable[[pylxd.Client, str], Any]:
    def read(client: pylxd.Client, name: str) -> Any:
        found = get_or_none(getattr(client.api, collection)[name])
        return None if found is None else found.get(detail, "")
    return read


def _member(client: pylxd.Client, name: str) -> Any:
    return "member" if name in {m.name for m in read_members(client)} else None


# kind -> (how to read it: a detail, or None when it is not there; what lists what exists; how to declare it)
KINDS: dict[str, tuple[Callable[[pylxd.Client, str], Any], str, str]] = {
    "image": (_image, "lxc image alias list", "copy it into the cluster with lxd.CachedImage and pass its "
                                               "`aliases` output here"),
    "profile": (_named("profiles", "name"), "lxc profile list", "declare it with lxd.Profile and pass its `name` "
                                                                 "output here"),
    "storage pool": (_named("storage_pools", "driver"), "lxc storage list", "declare it with lxd.StoragePool and "
                                                                             "pass its `name` output here"),
    "network": (_named("networks", "type"), "lxc network list", "declare it with lxd.Network and pass its `name` "
                                                                 "output here"),
    "project": (_named("projects", "name"), "lxc project list", "create the project first"),
    "member": (_member, "lxc cluster list", ""),  # not declared in a program: the message names the members
}


class References:
    """Finds what declarations refer to, in this program or the cluster (each asked once per check)."""

    def __init__(self, client: Callable[[], pylxd.Client], declared: Declared) -> None:
        self._client = client
        self._declared = declared
        self._seen: dict[tuple[str, str], Any] = {}

    def find(self, kind: str, name: str) -> tuple[bool, Any]:
        """(whether it is there, its detail: an image's type, a pool's driver, a network's type)."""
        declared, detail = self._declared.find(kind, name)
        if declared:
            return True, detail
        if (kind, name) not in self._seen:
            read = KINDS[kind][0]
            client = self._client()
            self._seen[(kind, name)] = with_retries(lambda: read(client, name), f"read {kind} {name}")
        found = self._seen[(kind, name)]
        return found is not None, found

    def problems(self, references: Iterable[Reference]) -> Failures:
        failures: Failures = []
        for ref in references:
            if ref.name is UNKNOWN or not ref.name or self.find(ref.kind, str(ref.name))[0]:
                continue
            failures.append((ref.prop, self._missing(ref)))
        return failures

    def _missing(self, ref: Reference) -> str:
        if ref.kind == "member":
            client = self._client()
            names = with_retries(lambda: sorted(m.name for m in read_members(client)), "read cluster members")
            return f"member \"{ref.name}\" is not in the cluster. Fix: use one of {', '.join(names)}"
        _read, listing, fix = KINDS[ref.kind]
        where = f"{ref.where}: " if ref.where else ""
        return (f"{where}{ref.kind} \"{ref.name}\" does not exist (nor is it declared in this program). "
                f"Fix: check the name (`{listing}` shows what exists), or {fix}")


def new_references(now: Iterable[Reference], before: Iterable[Reference]) -> list[Reference]:
    """The references in `now` that `before` did not hold: the ones to check."""
    held = {(r.kind, r.name) for r in before}
    return [r for r in now if (r.kind, r.name) not in held]


def device_references(prop: str, devices: Iterable[Mapping[str, Any]] | None) -> list[Reference]:
    """The pools and managed networks that devices name (a bridged NIC's `parent` is a host interface: not
    LXD's to answer for)."""
    found = []
    for device in known_list(devices):
        properties = known_map(device.get("properties") if isinstance(device, Mapping) else None)
        for key, kind in (("pool", "storage pool"), ("network", "network")):
            if properties.get(key):
                found.append(Reference(prop, kind, properties[key], f'devices["{device.get("name")}"].{key}'))
    return found
