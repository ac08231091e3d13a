"""What a declaration refers to must exist when it is applied: an image, profiles, a storage pool, a
network, an instance (of a snapshot or a file), a project, a cluster member. `check` asks the cluster at
preview, so a wrong name fails before anything is made, with the property, the value and the fix named.

Something the same program declares counts as there: an lxd.Profile, lxd.Network, lxd.StoragePool,
lxd.Instance or lxd.Project, or an lxd.CachedImage's aliases, each recorded when the engine checks it.
A resource that uses such an object's output is checked after it (the engine waits for the output), and
made after it at `up`.
Only a reference that is new or changed is checked: what an object already refers to was accepted when
it was applied, even if it is gone since.

Images, profiles and networks are looked up in the declaration's own `project` (LXD answers from the
default project for what a project does not keep apart); pools, projects and members cluster-wide. When
that project does not exist yet (declared in the same program), what is in it is left to `up`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pylxd

from cluster.errors import ConfigError, ConnectionSetupError
from cluster.facts import read_members
from cluster.images import read_alias, read_aliases, read_image
from cluster.operations import get_or_none
from cluster.retry import is_transient, with_retries
from lxd_provider.config_rules import did_you_mean
from lxd_provider.values import UNKNOWN, known_list, known_map

log = logging.getLogger(__name__)

Failures = list[tuple[str, str]]
FINGERPRINT = re.compile(r"^[0-9a-f]{12,64}$")  # an image named by its fingerprint (or a prefix)
PREVIEW_ATTEMPTS, PREVIEW_DEADLINE_S = 2, 10.0  # a preview asks briefly: `up` has the patience


@dataclass(frozen=True)
class Reference:
    """`prop` (at `where` inside it, e.g. a device's pool) names a `kind` of object: `name`."""

    prop: str
    kind: str  # image, profile, storage pool, network, instance, project, member
    name: Any  # UNKNOWN until the engine knows it
    where: str = ""


class Declared:
    """The objects this run's program declares, by kind, as the engine checks them (a plugin process
    serves one run); `detail` is what a reference may need to know (a pool's driver). And whether the
    server answers: once it did not, the run's other checks do not ask it again."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.silent: str | None = None  # why the server did not answer a check of this run

    def add(self, kind: str, name: Any, detail: Any = None) -> None:
        if isinstance(name, str) and name:
            with self._lock:
                self._objects[(kind, name)] = detail

    def find(self, kind: str, name: str) -> tuple[bool, Any]:
        with self._lock:
            return (kind, name) in self._objects, self._objects.get((kind, name))

    def names(self, kind: str) -> list[str]:
        with self._lock:
            return [name for known, name in self._objects if known == kind]


def _image(client: pylxd.Client, name: str) -> Any:
    alias = read_alias(client, name)
    if alias is not None:
        return alias.get("type", "container")
    image = read_image(client, name) if FINGERPRINT.match(name) else None
    return image.get("type", "container") if image else None


def _named(collection: str, detail: str) -> Callable[[pylxd.Client, str], Any]:
    def read(client: pylxd.Client, name: str) -> Any:
        found = get_or_none(getattr(client.api, collection)[name])
        return None if found is None else found.get(detail, "")
    return read


def _names_in(collection: str) -> Callable[[pylxd.Client], list[str]]:
    def names(client: pylxd.Client) -> list[str]:
        return [o["name"] for o in getattr(client.api, collection).get(params={"recursion": "1"}).json()["metadata"]]
    return names


def _member(client: pylxd.Client, name: str) -> Any:
    return "member" if name in _member_names(client) else None


def _member_names(client: pylxd.Client) -> list[str]:
    return sorted(m.name for m in read_members(client))


@dataclass(frozen=True)
class Kind:
    read: Callable[[pylxd.Client, str], Any]  # a detail of the object, or None when it is not there
    names: Callable[[pylxd.Client], list[str]]  # what exists
    listing: str  # the command that lists what exists
    fix: str  # how a program makes one
    in_project: bool = True  # looked up in the declaration's project (not: pools, projects, members: global)


KINDS: dict[str, Kind] = {
    "image": Kind(_image, lambda client: [a["name"] for a in read_aliases(client)], "lxc image alias list",
                  "copy it into the cluster with lxd.CachedImage and pass its `aliases` output here"),
    "profile": Kind(_named("profiles", "name"), _names_in("profiles"), "lxc profile list",
                    "declare it with lxd.Profile and pass its `name` output here"),
    "storage pool": Kind(_named("storage_pools", "driver"), _names_in("storage_pools"), "lxc storage list",
                         "declare it with lxd.StoragePool and pass its `name` output here", in_project=False),
    "network": Kind(_named("networks", "type"), _names_in("networks"), "lxc network list",
                    "declare it with lxd.Network and pass its `name` output here"),
    "instance": Kind(_named("instances", "type"), _names_in("instances"), "lxc list",
                     "declare it with lxd.Instance and pass its `name` output here"),
    "project": Kind(_named("projects", "name"), _names_in("projects"), "lxc project list",
                    "declare it with lxd.Project and pass its `name` output here", in_project=False),
    # not declared: the message names them all
    "member": Kind(_member, _member_names, "lxc cluster list", "", in_project=False),
}


UNREACHABLE = "lxd:remote"  # the one connection failure a preview passes over: the server is not there now


class References:
    """Finds what declarations refer to, in this program or the cluster (each asked once per check).

    A check is a preview's: when the server cannot answer (the provider is not configured yet, the remote
    is unreachable), what needs it is not checked -- `up` meets the real error -- and the run's other checks
    do not wait for it again. A server that answers but does not match our pin, or does not trust us, is a
    setting to fix now: that error, naming the setting, fails the check."""

    def __init__(self, client: Callable[[str | None], pylxd.Client], declared: Declared) -> None:
        self._client = client  # a client of that LXD project (None: the default one)
        self._declared = declared
        self._seen: dict[tuple[str, str, str | None], Any] = {}

    def ask(self, what: str, read: Callable[[pylxd.Client], Any], project: str | None = None) -> tuple[bool, Any]:
        """(whether the server answered, its answer): a short bounded wait, not `up`'s patience. A project
        that does not exist (yet) answers nothing."""
        if self._declared.silent is not None:
            return False, None
        try:
            client = self._client(project)
            return True, with_retries(lambda: read(client), what, attempts=PREVIEW_ATTEMPTS,
                                      deadline_s=PREVIEW_DEADLINE_S)
        except ConfigError as error:  # not configured (yet), or the project not made yet: nothing to ask
            log.info("preview checks that need the server are skipped: %s", error)
            return False, None
        except Exception as error:
            unreachable = isinstance(error, ConnectionSetupError) and error.subject == UNREACHABLE
            if not unreachable and not is_transient(error):
                raise  # a wrong pin or trust is the user's to fix now, naming its setting
            self._declared.silent = str(error)
            log.warning("preview checks that need the server are skipped for this run: %s", error)
            return False, None

    def find(self, kind: str, name: str, project: str | None = None) -> tuple[bool, Any]:
        """(whether it may be there, its detail: an image's type, a pool's driver, a network's type), looked up
        in `project` for what lives in one. It may be there when the server did not answer; the detail is None
        then."""
        declared, detail = self._declared.find(kind, name)
        if declared:
            return True, detail
        key = (kind, name, project if KINDS[kind].in_project else None)
        if key not in self._seen:
            read = KINDS[kind].read
            answered, found = self.ask(f"read {kind} {name}", lambda client: read(client, name), key[2])
            if not answered:
                return True, None
            self._seen[key] = found
        found = self._seen[key]
        return found is not None, found

    def problems(self, references: Iterable[Reference], project: str | None = None) -> Failures:
        """Each reference to what is neither in the cluster (in `project`, for what lives in one) nor declared."""
        failures: Failures = []
        for ref in references:
            if ref.name is UNKNOWN or not ref.name or self.find(ref.kind, str(ref.name), project)[0]:
                continue
            failures.append((ref.prop, self._missing(ref, project)))
        return failures

    def _missing(self, ref: Reference, project: str | None) -> str:
        kind = KINDS[ref.kind]
        _answered, names = self.ask(f"list {ref.kind}s", kind.names, project if kind.in_project else None)
        names = sorted({*(names or []), *self._declared.names(ref.kind)})
        near = did_you_mean(names, str(ref.name))
        if ref.kind == "member":
            fix = f"use one of {', '.join(names)}" if names else f"`{kind.listing}` shows the members"
            return f"member \"{ref.name}\" is not in the cluster{near}. Fix: {fix}"
        where = f"{ref.where}: " if ref.where else ""
        return (f"{where}{ref.kind} \"{ref.name}\" does not exist, nor is it declared in this program{near}. "
                f"Fix: check the name (`{kind.listing}` shows what exists), or {kind.fix}")


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
