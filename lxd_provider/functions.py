"""The provider's functions (Invoke): look up what already exists in the cluster (a profile, a network,
an image someone else made) so a program can refer to it.

Tokens, arguments and results are upstream's (terraform-provider-lxd v2.7's data sources) where they
make sense. A lookup of an object this provider manages goes through that resource's own `read`, so it
shows the object exactly as a refresh would; a function call has no URN, so nothing it reads counts as
another stack's. What is not found fails the call with a message naming the function and the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.connection import DEFAULT_PROJECT
from cluster.errors import ProjectMissing
from cluster.facts import read_members
from cluster.images import read_alias, read_image
from cluster.operations import get_or_none
from cluster.retry import with_retries
from lxd_provider.base import Context, Failures, Resource, declared_values, join_id
from lxd_provider.cached_image import CachedImage
from lxd_provider.instance import FINGERPRINT, Instance
from lxd_provider.network import Network
from lxd_provider.profile import Profile
from lxd_provider.spec import STRING, STRING_LIST, STRING_MAP, Prop, TypeSpec, ref
from lxd_provider.storage_pool import StoragePool

Lookup = Callable[[Context, dict[str, Any]], dict[str, Any] | None]

CLUSTER_MEMBER = TypeSpec("lxd:index/getInfoClusterMember:getInfoClusterMember",
                          "A cluster member, as getInfo shows it.", (
    Prop("url", STRING, "The member's API address (https://<address>:8443).", required=True),
    Prop("status", STRING, "Online, Offline, Evacuated, ...", required=True),
))


def _name(what: str) -> Prop:
    return Prop("name", STRING, f"Name of the {what}.", required=True)


PROJECT_ARG = Prop("project", STRING, "LXD project (default: default).", default=DEFAULT_PROJECT)


@dataclass(frozen=True)
class Function:
    """One function: its arguments, its results and how it finds what it is asked for (None: not there)."""

    token: str
    description: str
    args: tuple[Prop, ...]
    results: tuple[Prop, ...]
    lookup: Lookup
    what: str  # what is looked up, for the not-found message
    listing: str  # the command that lists what exists, for the not-found message
    key: str = "name"  # the argument that names it
    types: tuple[TypeSpec, ...] = ()

    @property
    def name(self) -> str:
        return self.token.rsplit(":", 1)[-1]

    def schema(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"description": self.description, "outputs": {
            "properties": {p.name: {**p.schema, "description": p.description} for p in self.results},
            "required": [p.name for p in self.results]}}
        if self.args:
            spec["inputs"] = {"properties": {p.name: {**p.schema, "description": p.description} for p in self.args},
                              "required": [p.name for p in self.args if p.required]}
        return spec

    def call(self, ctx: Context, args: dict[str, Any]) -> tuple[dict[str, Any] | None, Failures]:
        """(the results, or None with every problem naming its argument)."""
        values, failures = declared_values(self.args, args, self.token)
        if failures:
            return None, failures
        try:
            found = self.lookup(ctx, values)
        except Mismatch as mismatch:
            return None, [(mismatch.argument, str(mismatch))]
        except ProjectMissing as missing:
            return None, [("project", f"{self.name}: {missing}")]
        if found is None:
            return None, [(self.key, self.not_found(values))]
        return {p.name: found.get(p.name, values.get(p.name)) for p in self.results}, []

    def not_found(self, values: dict[str, Any]) -> str:
        where = f" in project {values['project']}" if "project" in values else ""
        return (f"{self.name}: there is no {self.what} {values[self.key]!r}{where}. Fix: check the {self.key} "
                f"(`{self.listing}` shows what exists), or declare it in this program")


def _read_with(resource: Resource) -> Lookup:
    """A lookup through the resource's own read (an import-like read: nothing declared, nothing owned)."""
    def lookup(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
        found, outputs, _inputs = resource.read(ctx, join_id(values.get("project"), values["name"]), {}, {})
        return outputs if found is not None else None
    return lookup


def _results(resource: type[Resource], *names: str) -> tuple[Prop, ...]:
    by_name = {p.name: p for p in resource.props}
    return tuple(by_name[name] for name in names)


def _network(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
    found = _read_with(Network())(ctx, values)
    if found is None:
        return None
    config = found.get("config") or {}
    # a bridge's own address (CIDR); "none" or a driver without one: empty, as upstream
    addresses = {f"ipv{v}Address": config.get(f"ipv{v}.address", "") for v in (4, 6)}
    return {**found, **{k: a if "/" in a else "" for k, a in addresses.items()}}


def _image(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
    client, wanted = ctx.client_for(values.get("project")), values["image"]
    alias = with_retries(lambda: read_alias(client, wanted), f"read alias {wanted}")
    fingerprint = alias["target"] if alias else wanted if FINGERPRINT.match(wanted) else None
    image = with_retries(lambda: read_image(client, fingerprint), f"read image {wanted}") if fingerprint else None
    if image is None:
        return None
    return {**CachedImage.observed(image), "type": image.get("type", "container"),
            "aliases": sorted(a["name"] for a in image.get("aliases") or [])}


def _project(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
    client = ctx.client
    project = with_retries(lambda: get_or_none(client.api.projects[values["name"]]), f"read project {values['name']}")
    if project is None:
        return None
    return {"name": project["name"], "description": project.get("description", ""),
            "config": dict(sorted((project.get("config") or {}).items()))}


INSTANCE_TYPES = {"lxc": "container", "qemu": "virtual-machine"}


def _info(ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    client = ctx.client
    server = with_retries(lambda: client.api.get().json()["metadata"], "read the server's info")
    environment = server.get("environment") or {}
    members = with_retries(lambda: read_members(client), "read cluster members") \
        if environment.get("server_clustered") else []
    drivers = [d.strip() for d in str(environment.get("driver", "")).split("|")]
    return {"apiExtensions": list(server.get("api_extensions") or []),
            "serverName": environment.get("server_name", ""), "serverVersion": environment.get("server_version", ""),
            "clusterMembers": {m.name: {"url": m.url, "status": m.status} for m in members},
            "instanceTypes": sorted(INSTANCE_TYPES[d] for d in drivers if d in INSTANCE_TYPES)}


class Mismatch(Exception):
    """What was looked up exists, but not as an argument asks (getImage's type or architecture)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def _image_as_asked(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
    """getImage's optional type and architecture narrow what it finds."""
    found = _image(ctx, values)
    for argument in ("type", "architecture"):
        if found is not None and values.get(argument) not in (None, found[argument]):
            raise Mismatch(argument, f"getImage: image {values['image']!r} is {found[argument]}, not "
                                     f"{values[argument]}. Fix: ask for {argument} {found[argument]!r}, or "
                                     f"for another image")
    return found


FUNCTIONS: tuple[Function, ...] = (
    Function("lxd:index/getInstance:getInstance", "An existing instance, as an import of an lxd.Instance reads it "
             "(its `limits.*` keys are in `config`).",
             (_name("instance"), PROJECT_ARG),
             _results(Instance, "name", "project", "image", "description", "type", "ephemeral", "running", "profiles",
                      "config", "devices", "location", "status", "ipv4Address", "ipv6Address", "macAddress", "uuid"),
             _read_with(Instance()), "instance", "lxc list"),
    Function("lxd:index/getImage:getImage", "An image in the cluster's image store, by alias or fingerprint.",
             (Prop("image", STRING, "Alias or fingerprint of the image in the cluster (no remote).", required=True),
              Prop("type", STRING, "container or virtual-machine: only an image of this type is found."),
              Prop("architecture", STRING, "e.g. x86_64: only an image of this architecture is found."),
              PROJECT_ARG),
             (Prop("image", STRING, "The alias or fingerprint asked for."),
              Prop("fingerprint", STRING, "SHA-256 fingerprint of the image."),
              Prop("architecture", STRING, "Image architecture."),
              Prop("type", STRING, "container or virtual-machine."),
              Prop("createdAt", STRING, "When the image was built."),
              Prop("aliases", STRING_LIST, "Every alias pointing at the image."),
              PROJECT_ARG),
             _image_as_asked, "image", "lxc image list", key="image"),
    Function("lxd:index/getProfile:getProfile", "An existing profile, as a refresh of an lxd.Profile reads it.",
             (_name("profile"), PROJECT_ARG),
             _results(Profile, "name", "project", "description", "config", "devices"),
             _read_with(Profile()), "profile", "lxc profile list"),
    Function("lxd:index/getNetwork:getNetwork", "An existing network, as a refresh of an lxd.Network reads it.",
             (_name("network"), PROJECT_ARG),
             (*_results(Network, "name", "project", "description", "type", "config"),
              Prop("ipv4Address", STRING, "The network's own IPv4 address in CIDR notation (empty when none)."),
              Prop("ipv6Address", STRING, "The network's own IPv6 address in CIDR notation (empty when none).")),
             _network, "network", "lxc network list"),
    Function("lxd:index/getStoragePool:getStoragePool",
             "An existing storage pool, as a refresh of an lxd.StoragePool reads it.",
             (_name("storage pool"), PROJECT_ARG),
             _results(StoragePool, "name", "project", "driver", "description", "config"),
             _read_with(StoragePool()), "storage pool", "lxc storage list"),
    Function("lxd:index/getProject:getProject", "An existing LXD project.",
             (_name("project"),),
             (Prop("name", STRING, "Project name."), Prop("description", STRING, "Description."),
              Prop("config", STRING_MAP, "Project config (features.*, limits.*, restricted.*).")),
             _project, "project", "lxc project list"),
    Function("lxd:index/getInfo:getInfo", "The LXD server behind the provider's remote: its API extensions, "
             "version, and the cluster's members (empty when it is not a cluster).", (),
             (Prop("apiExtensions", STRING_LIST, "API extensions the server supports."),
              Prop("serverName", STRING, "Name of the member that answered (behind a load balancer: any)."),
              Prop("serverVersion", STRING, "LXD version, e.g. 5.0.2."),
              Prop("clusterMembers", {"type": "object", "additionalProperties": ref(CLUSTER_MEMBER.token)},
                   "Cluster members by name."),
              Prop("instanceTypes", STRING_LIST, "Instance types the server runs (container, virtual-machine).")),
             _info, "server", "lxc info", key="", types=(CLUSTER_MEMBER,)),
)


def by_token() -> dict[str, Function]:
    return {function.token: function for function in FUNCTIONS}
