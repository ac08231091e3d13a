"""Images and aliases in the cluster: copy from a pinned remote, point an alias, drop unused images.

Aliases carry their owner (`lxdha-owner=<project>/<stack>` in the description) so a second stack
cannot take one over or delete it. Every step re-reads before it acts, so retries are safe: a copy
whose response was lost finds the image already there; an alias already pointing right is left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from cluster.errors import OwnershipConflict
from cluster.operations import OperationFailed, finish, get_or_none, post_and_wait
from cluster.retry import with_retries
from cluster.server_family import LXD, ServerFamily, image_protocol, server_family

COPY_TIMEOUT_S = 900
DELETE_TIMEOUT_S = 120
OWNER_TAG = "lxdha-owner="
PROTOCOLS = ("lxd", "incus", "simplestreams")  # lxd and incus: the same REST API, named per server family
ALIAS_EXISTS = re.compile(r"Alias already exists: (\S+)")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageSource:
    """An image on a remote image server; `certificate` pins an LXD-protocol server's TLS certificate."""

    server: str
    protocol: str
    image: str  # alias or fingerprint on the remote
    certificate: str = field(default="", repr=False)
    image_type: str = "container"

    def body(self, family: ServerFamily = LXD) -> dict[str, Any]:
        """The copy request as a server of `family` takes it (its name for the remote's protocol)."""
        source: dict[str, Any] = {"type": "image", "mode": "pull", "server": self.server,
                                  "protocol": image_protocol(family, self.protocol), "alias": self.image,
                                  "image_type": self.image_type}
        if self.certificate:
            source["certificate"] = self.certificate
        return {"source": source, "auto_update": False, "public": False}


def copy_image(client: pylxd.Client, source: ImageSource) -> dict[str, Any]:
    """Copies the image into the cluster (LXD reuses an identical image already there); returns its record.

    Incus 6.0, copying an image the cluster already holds, fails on that image's own aliases ("Alias already
    exists: <alias>", measured on the Incus lab with no alias asked for): the image is there, under that alias.
    """

    def attempt() -> dict[str, Any]:
        try:
            metadata = post_and_wait(client, client.api.images, source.body(server_family(client)), COPY_TIMEOUT_S,
                                     f"copy image {source.image} from {source.server}")
        except (OperationFailed, LXDAPIException) as error:
            present = _already_present(client, str(error))
            if present is None:
                raise
            return present
        fingerprint = metadata.get("fingerprint")
        if not fingerprint:
            raise RuntimeError(f"copy of {source.image} finished without a fingerprint")
        return read_image(client, fingerprint) or {"fingerprint": fingerprint}

    log.info("copying image %s from %s", source.image, source.server)
    return with_retries(attempt, f"copy image {source.image}")


def _already_present(client: pylxd.Client, message: str) -> dict[str, Any] | None:
    """The image a refused copy found already in the cluster, by the alias the refusal names."""
    match = ALIAS_EXISTS.search(message)
    alias = read_alias(client, match.group(1)) if match else None
    return read_image(client, alias["target"]) if alias else None


def read_image(client: pylxd.Client, fingerprint: str) -> dict[str, Any] | None:
    return get_or_none(client.api.images[fingerprint])


def read_images(client: pylxd.Client) -> list[dict[str, Any]]:
    """Every image in the cluster, each with its properties."""
    return with_retries(lambda: client.api.images.get(params={"recursion": "1"}).json()["metadata"], "read images")


def read_alias(client: pylxd.Client, alias: str) -> dict[str, Any] | None:
    return get_or_none(client.api.images.aliases[alias])


def read_aliases(client: pylxd.Client) -> list[dict[str, Any]]:
    return client.api.images.aliases.get(params={"recursion": "1"}).json()["metadata"]


def alias_description(owner: str, note: str = "") -> str:
    return f"{OWNER_TAG}{owner}" + (f" {note}" if note else "")


def alias_owner(description: str) -> str | None:
    for word in (description or "").split():
        if word.startswith(OWNER_TAG):
            return word.removeprefix(OWNER_TAG)
    return None


def alias_problem(alias: str, live: Mapping[str, Any] | None, owner: str) -> str | None:
    """Why `owner` may not manage `alias` (another stack or a person already does), or None."""
    if live is None:
        return None
    current = alias_owner(live.get("description", ""))
    if current == owner:
        return None
    who = f"stack {current}" if current else "someone outside lxdha (no owner mark)"
    return f"image alias {alias!r} already exists, managed by {who}"


def ensure_alias(client: pylxd.Client, alias: str, fingerprint: str, owner: str, note: str = "") -> str | None:
    """Creates or re-points `alias` (in place: containers using the alias are untouched).
    Returns the fingerprint it pointed at before, if any."""
    description = alias_description(owner, note)
    before: list[str | None] = []

    def attempt() -> None:
        live = read_alias(client, alias)
        problem = alias_problem(alias, live, owner)
        if problem:
            raise OwnershipConflict(f"alias {alias}", problem, "use another alias name, or remove the other alias")
        if not before:
            before.append(live["target"] if live else None)
        if live is None:
            client.api.images.aliases.post(json={"name": alias, "target": fingerprint, "description": description})
        elif live["target"] != fingerprint or live.get("description") != description:
            client.api.images.aliases[alias].put(json={"target": fingerprint, "description": description})

    with_retries(attempt, f"point alias {alias}")
    return before[0] if before else None


def remove_alias(client: pylxd.Client, alias: str, owner: str, fingerprint: str | None = None) -> bool:
    """Deletes `alias` if it is ours (and, when given, still points at `fingerprint`); True when deleted."""
    removed = []

    def attempt() -> None:
        live = read_alias(client, alias)
        if live is None or alias_owner(live.get("description", "")) not in (owner, None):
            return
        if fingerprint and live.get("target") != fingerprint:
            return
        try:
            client.api.images.aliases[alias].delete()
            removed.append(alias)
        except NotFound:
            return

    with_retries(attempt, f"remove alias {alias}")
    return bool(removed)


def delete_if_unused(client: pylxd.Client, fingerprint: str | None, keep: frozenset[str] = frozenset()) -> bool:
    """Deletes an image no alias points at (and not in `keep`); instances keep their own copy of the
    rootfs, so an image only aliases refer to is safe to drop. True when deleted."""
    if not fingerprint or fingerprint in keep:
        return False

    def attempt() -> bool:
        if any(a["target"] == fingerprint for a in read_aliases(client)) or read_image(client, fingerprint) is None:
            return False
        finish(client, client.api.images[fingerprint].delete(), DELETE_TIMEOUT_S, f"delete image {fingerprint[:12]}")
        return True

    try:
        return with_retries(attempt, f"delete image {fingerprint[:12]}")
    except (NotFound, LXDAPIException) as error:
        log.warning("image %s not deleted: %s", fingerprint[:12], error)
        return False
