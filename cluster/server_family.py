"""Which server answers, LXD 5.0 or Incus 6.0, and the few things on the wire that differ between them.

Incus is LXD's fork: the same `/1.0` API, with some names changed. Every module that meets one of those
names asks the server's family here instead of spelling either name itself. The differences, and the
source each was read in, are listed in docs/servers.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pylxd


@dataclass(frozen=True)
class ServerFamily:
    """The wire names and messages of one server family."""

    name: str  # what GET /1.0 says in environment.server
    label: str  # the release line we serve, for messages ("an LXD 5.0 instance option")
    docs: str  # its documentation, where the reference pages live
    cli: str  # its command-line client, for the commands a message suggests
    header_prefix: str  # of the file API's and the image upload's headers
    trust_field: str  # the field of POST /1.0/certificates that carries an untrusted client's secret
    trust_secret: str  # what that secret may be, for messages
    trust_secret_fix: str  # where a user gets one
    trust_cert_command: str  # how an administrator trusts a certificate file on a member
    # the name of the copy the server makes on the target member while it moves an instance there (its
    # volatile.uuid appended), or "" when it moves the instance under its own name
    move_copy_prefix: str
    # its own words for states that heal by waiting, beyond those both families share (cluster/retry.py)
    transient_phrases: tuple[str, ...]
    guest_socket: str  # the API an instance reaches its server through (it reports Ready there)
    vm_agent: str  # the agent a virtual machine runs
    # instance types whose stateful snapshot needs config migration.stateful=true
    stateful_needs_config: tuple[str, ...]
    # what a copy from an image server speaking the /1.0 REST API names that protocol: LXD 5.0 takes only
    # "lxd", Incus 6.0 only "incus" ("Invalid protocol: lxd", measured on the lab)
    rest_protocol: str = "lxd"
    # an API extension only this family lists: it tells the family to a client the server does not trust
    # yet, to which GET /1.0 shows no `environment`
    marker_extension: str = ""

    def header(self, name: str) -> str:
        """A file or image header by its short name ("mode", "public")."""
        return f"{self.header_prefix}{name}"


LXD = ServerFamily(
    name="lxd", label="LXD 5.0", docs="https://documentation.ubuntu.com/lxd/en/stable-5.0/", cli="lxc",
    header_prefix="X-LXD-", trust_field="password", trust_secret="trust password or token",
    trust_secret_fix="the cluster's core.trust_password, or a fresh token from `lxc config trust add`",
    trust_cert_command="lxc config trust add <cert>", move_copy_prefix="lxd-move-of-",
    transient_phrases=("lxd is shutting down", "no available dqlite leader"),
    guest_socket="/dev/lxd/sock", vm_agent="lxd-agent", stateful_needs_config=("virtual-machine",))
INCUS = ServerFamily(
    name="incus", label="Incus 6.0", docs="https://linuxcontainers.org/incus/docs/main/", cli="incus",
    header_prefix="X-Incus-", trust_field="trust_token", trust_secret="trust token",
    trust_secret_fix="a fresh token from `incus config trust add <name>` (Incus has no trust password)",
    trust_cert_command="incus config trust add-certificate <cert>", move_copy_prefix="",
    # a request forwarded to a member whose daemon is still starting (measured on the Incus lab: a member
    # restarted during `up`)
    transient_phrases=("incus is shutting down", "no available cowsql leader", "server isn't ready yet"),
    guest_socket="/dev/incus/sock", vm_agent="incus-agent", stateful_needs_config=("container", "virtual-machine"),
    rest_protocol="incus", marker_extension="dev_incus_events")
FAMILIES = (LXD, INCUS)
REST_PROTOCOLS = tuple(family.rest_protocol for family in FAMILIES)


def family_of(host_info: Mapping[str, Any] | None) -> ServerFamily:
    """The family GET /1.0's answer shows: its environment.server; for an untrusted client (no environment),
    the marker extension; LXD when neither says."""
    info = host_info or {}
    server = (info.get("environment") or {}).get("server")
    if server:
        return next((family for family in FAMILIES if family.name == server), LXD)
    extensions = info.get("api_extensions") or ()
    return next((family for family in FAMILIES if family.marker_extension and family.marker_extension in extensions),
                LXD)


def image_protocol(family: ServerFamily, protocol: str) -> str:
    """The protocol name `family` takes for an image server: either family's name for the REST API ("lxd",
    "incus") becomes its own, so one stack's config copies images on both; simplestreams stays."""
    return family.rest_protocol if protocol in REST_PROTOCOLS else protocol


def server_family(client: pylxd.Client) -> ServerFamily:
    """The family of the server behind `client` (from the GET /1.0 the client made when it connected)."""
    return family_of(client.host_info)
