"""`lxd:index/cachedImage:CachedImage`: an image copied into the cluster from a remote image server,
with local aliases managed in place.

Upstream's surface (terraform-provider-lxd v2.7), with one difference: `sourceRemote` is the image
server's URL (plus `sourceProtocol` and an optional pinned `sourceCertificate`) rather than the name
of a remote in a client config file, so nothing is trusted on first use. A source change replaces
the image; aliases change in place. Re-pointing a stable alias (e.g. alpine/stable) to a new image
is therefore: a new CachedImage takes the alias, the old one is deleted and leaves the alias alone
(it no longer points at it) -- containers that refer to the alias are never touched.
An alias marked as another stack's (or made by a person) is refused at preview.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlparse

import pylxd

from cluster.image_remote import remote_image_problem
from cluster.images import (
    PROTOCOLS,
    ImageSource,
    alias_owner,
    alias_problem,
    copy_image,
    delete_if_unused,
    ensure_alias,
    read_alias,
    read_image,
    remove_alias,
)
from cluster.retry import with_retries
from lxd_provider.base import Context, Failures, Resource, join_id, split_id
from lxd_provider.spec import BOOLEAN, PROJECT, STRING, STRING_LIST, Prop
from lxd_provider.values import known_list

SOURCE_FIELD = {"image": "sourceImage", "server": "sourceRemote", "certificate": "sourceCertificate"}


def _sorted_unique(value: Any) -> list[str]:
    return sorted(set(value or []))


class CachedImage(Resource):
    token: ClassVar[str] = "lxd:index/cachedImage:CachedImage"
    description: ClassVar[str] = (
        "An image copied into the cluster from an image server whose certificate can be pinned, "
        "with local aliases (e.g. a stable `alpine/stable`) managed in place.")
    id_description: ClassVar[str] = "[<project>/]<fingerprint>"
    props = (
        Prop("sourceRemote", STRING, "Image server URL, e.g. https://images.lxd.canonical.com.", required=True,
             replaces=True),
        Prop("sourceProtocol", STRING, "simplestreams, or lxd (incus: the same; each server gets its own name).",
             default="simplestreams", replaces=True),
        Prop("sourceCertificate", STRING, "PEM certificate that pins an lxd-protocol image server.", default=""),
        Prop("sourceImage", STRING, "Image alias or fingerprint on the remote, e.g. alpine/3.23.", required=True,
             replaces=True),
        Prop("aliases", STRING_LIST, "Local aliases pointing at the copied image (changed in place).",
             default=[], normalize=_sorted_unique),
        Prop("type", STRING, "container or virtual-machine.", default="container", replaces=True),
        PROJECT,
        Prop("copyAliases", BOOLEAN, "Copy the remote's aliases too (not supported: always false).",
             default=False, replaces=True),
        Prop("fingerprint", STRING, "SHA-256 fingerprint of the image.", input=False),
        Prop("architecture", STRING, "Image architecture.", input=False),
        Prop("createdAt", STRING, "When the image was built.", input=False),
        Prop("copiedAliases", STRING_LIST, "Aliases copied from the remote (always empty).", input=False),
        Prop("aliasMark", STRING, "Mark this resource puts in its aliases' description, so the image it replaces "
             "never removes an alias it took over (even when both copies are the same image).", input=False),
    )

    @staticmethod
    def source_of(inputs: dict[str, Any]) -> ImageSource:
        return ImageSource(inputs["sourceRemote"], inputs["sourceProtocol"], inputs["sourceImage"],
                           inputs.get("sourceCertificate") or "", inputs.get("type") or "container")

    def validate(self, inputs: dict[str, Any]) -> Failures:
        failures: Failures = []
        parsed = urlparse(str(inputs["sourceRemote"]))
        if parsed.scheme != "https" or not parsed.hostname:
            failures.append(("sourceRemote", f"{inputs['sourceRemote']!r} is not an https:// URL of an image server"))
        if inputs["sourceProtocol"] not in PROTOCOLS:
            failures.append(("sourceProtocol", f"sourceProtocol must be one of {', '.join(PROTOCOLS)}"))
        if inputs.get("copyAliases"):
            failures.append(("copyAliases", "copying the remote's aliases is not supported: list aliases instead"))
        if any(not str(a).strip() or " " in str(a) for a in inputs.get("aliases") or []):
            failures.append(("aliases", "aliases must be non-empty names without spaces"))
        return failures

    def declares(self, inputs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        return [("image", alias, inputs.get("type")) for alias in known_list(inputs.get("aliases"))]

    def live_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        failures: Failures = []
        for alias in inputs.get("aliases") or []:
            answered, record = ctx.references.ask(f"read alias {alias}", lambda client, a=alias: read_alias(client, a),
                                                  inputs.get("project"))
            problem = alias_problem(alias, record, ctx.owner) if answered else None
            if problem:
                failures.append(("aliases", f"{problem}: use another alias name, or remove that alias first"))
        remote = remote_image_problem(self.source_of(inputs))
        if remote:
            failures.append((SOURCE_FIELD[remote[0]], remote[1]))
        return failures

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client = ctx.client_for(inputs.get("project"))
        image = copy_image(client, self.source_of(inputs))
        fingerprint, mark = image["fingerprint"], f"mark={secrets.token_hex(6)}"
        for alias in _sorted_unique(inputs.get("aliases")):
            ensure_alias(client, alias, fingerprint, ctx.owner, self._note(inputs, mark))
        return join_id(inputs.get("project"), fingerprint), self._outputs(inputs, image, mark)

    @staticmethod
    def _note(inputs: dict[str, Any], mark: str) -> str:
        return f"source={inputs['sourceImage']} {mark}".strip()

    @staticmethod
    def observed(image: dict[str, Any]) -> dict[str, Any]:
        """What an image record in the cluster shows, as this provider names it (getImage shares it)."""
        return {"fingerprint": image["fingerprint"], "architecture": image.get("architecture", ""),
                "createdAt": image.get("created_at", "")}

    @classmethod
    def _outputs(cls, inputs: dict[str, Any], image: dict[str, Any], mark: str) -> dict[str, Any]:
        return {**inputs, **cls.observed(image), "copiedAliases": [], "aliasMark": mark}

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        project, fingerprint = split_id(resource_id)
        client = ctx.client_for(project)
        image = with_retries(lambda: read_image(client, fingerprint), f"read image {fingerprint[:12]}")
        if image is None:
            return None, {}, {}
        old = {**state, **inputs}
        declared = old.get("aliases")
        if declared is None:  # an import: every alias of this image that is not another stack's
            declared = [a["name"] for a in image.get("aliases") or []]
        mark = old.get("aliasMark", "")
        pointing = [a for a in declared if self._points_here(client, ctx.owner, a, fingerprint, mark)]
        live_inputs = {**self.inputs_of(old), "aliases": _sorted_unique(pointing), "project": project}
        for key, default in (("sourceProtocol", "simplestreams"), ("type", image.get("type", "container")),
                             ("copyAliases", False), ("sourceCertificate", "")):
            live_inputs.setdefault(key, default)
        return resource_id, self._outputs(live_inputs, image, old.get("aliasMark", "")), live_inputs

    @staticmethod
    def _points_here(client: pylxd.Client, owner: str, alias: str, fingerprint: str, mark: str) -> bool:
        live = with_retries(lambda: read_alias(client, alias), f"read alias {alias}")
        return bool(live) and live.get("target") == fingerprint and _marked(live, owner, mark)

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        project, fingerprint = split_id(resource_id)
        client = ctx.client_for(project)
        wanted, before = _sorted_unique(news.get("aliases")), _sorted_unique(olds.get("aliases"))
        mark = olds.get("aliasMark") or f"mark={secrets.token_hex(6)}"
        for alias in wanted:
            ensure_alias(client, alias, fingerprint, ctx.owner, self._note(news, mark))
        for alias in set(before) - set(wanted):
            self._release(client, ctx.owner, alias, fingerprint, mark)
        image = with_retries(lambda: read_image(client, fingerprint), "read image") or {"fingerprint": fingerprint}
        return self._outputs(news, image, mark)

    @staticmethod
    def _release(client: pylxd.Client, owner: str, alias: str, fingerprint: str, mark: str) -> None:
        live = with_retries(lambda: read_alias(client, alias), f"read alias {alias}")
        if live and _marked(live, owner, mark):
            remove_alias(client, alias, owner, fingerprint)

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        project, fingerprint = split_id(resource_id)
        client = ctx.client_for(project)
        for alias in _sorted_unique(state.get("aliases")):
            self._release(client, ctx.owner, alias, fingerprint, state.get("aliasMark", ""))
        delete_if_unused(client, fingerprint)


def _marked(alias: dict[str, Any], owner: str, mark: str) -> bool:
    """The alias is this resource's: our stack's (or unmarked, e.g. imported) and, when the resource
    made its own mark, carrying that mark (a successor that took the alias over has another)."""
    description = alias.get("description", "")
    if alias_owner(description) not in (owner, None):
        return False
    return not mark or mark in description.split()
