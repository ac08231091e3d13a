"""Dynamic provider for a cached image plus a stable alias (e.g. alpine/stable) pointing at it.

Changing the source copies the new image and re-points the alias in place: containers refer to
the alias, so they are not replaced. The previous image is deleted once no alias refers to it.
Re-running with the same inputs is a no-op (the upstream Terraform resource is not).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pylxd.exceptions import LXDAPIException, NotFound

from cluster.connection import LxdEndpoint, lxd_client
from cluster.errors import ConfigError, ConnectionSetupError
from cluster.operations import operation_id, post_and_wait, wait_operation
from cluster.retry import with_retries
from provisioners.dynamic_support import fixed_name, with_secret_outputs
from cluster.image_remote import remote_image_problem

COPY_TIMEOUT_S = 900
PROTOCOLS = ("lxd", "simplestreams")
SOURCE_KEYS = ("remote_url", "remote_protocol", "remote_certificate", "source")


def copy_source(props: dict[str, Any]) -> dict[str, Any]:
    source = {"type": "image", "mode": "pull", "server": props["remote_url"], "protocol": props["remote_protocol"],
              "alias": props["source"]}
    if props.get("remote_certificate"):
        source["certificate"] = props["remote_certificate"]  # pins the image server
    return source


def copy_image(client: Any, props: dict[str, Any]) -> str:
    """Copies the source image into the cluster; returns its fingerprint."""
    body = {"source": copy_source(props), "auto_update": False, "public": False}
    print(f"copying image {props['source']} from {props['remote_url']}", file=sys.stderr, flush=True)
    metadata = post_and_wait(client, client.api.images, body, COPY_TIMEOUT_S, f"copy image {props['source']}")
    fingerprint = (metadata.get("metadata") or {}).get("fingerprint")
    if not fingerprint:
        raise RuntimeError(f"copy of {props['source']} finished without a fingerprint")
    return fingerprint


OWNER_TAG = "lxdha-owner="


def alias_description(owner: str, source: str) -> str:
    """Marks who manages the alias, so a second stack cannot silently take it over or delete it."""
    return f"{OWNER_TAG}{owner} source={source}"


def alias_owner(description: str) -> str | None:
    for word in (description or "").split():
        if word.startswith(OWNER_TAG):
            return word.removeprefix(OWNER_TAG)
    return None


def live_alias(client: Any, alias: str) -> dict[str, Any] | None:
    try:
        return client.api.images.aliases[alias].get().json()["metadata"]
    except NotFound:
        return None


def ownership_problem(alias: str, live: dict[str, Any] | None, owner: str) -> str | None:
    """Why this stack may not manage `alias` (another stack or a person already does), or None."""
    if live is None:
        return None
    current = alias_owner(live.get("description", ""))
    if current == owner:
        return None
    who = f"stack {current}" if current else "someone outside lxdha (no owner mark)"
    return (f"image alias {alias!r} already exists, managed by {who}. Fix: give this stack its own "
            "lxdha:image.alias, or remove the other alias first")


def point_alias(client: Any, alias: str, fingerprint: str, owner: str, source: str) -> str | None:
    """Creates or re-points `alias`; returns the fingerprint it pointed at before (if any)."""
    live = live_alias(client, alias)
    problem = ownership_problem(alias, live, owner)
    if problem:
        raise ConfigError("lxdha:image.alias", problem.split(". Fix: ")[0], problem.split(". Fix: ")[1])
    description = alias_description(owner, source)
    if live is None:
        client.api.images.aliases.post(json={"name": alias, "target": fingerprint, "description": description})
        return None
    if live["target"] != fingerprint or live.get("description") != description:
        client.api.images.aliases[alias].put(json={"target": fingerprint, "description": description})
    return live["target"]


def delete_if_unaliased(client: Any, fingerprint: str | None) -> None:
    if not fingerprint:
        return
    aliases = client.api.images.aliases.get(params={"recursion": "1"}).json()["metadata"]
    if any(a["target"] == fingerprint for a in aliases):
        return
    try:
        response = client.api.images[fingerprint].delete()
        wait_operation(client, operation_id(response.json()), 120, f"delete image {fingerprint[:12]}")
    except (NotFound, LXDAPIException) as error:
        print(f"old image {fingerprint[:12]} not deleted: {error}", file=sys.stderr, flush=True)


class ImageAliasProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("remote_protocol") not in PROTOCOLS:
            failures.append(CheckFailure("remote_protocol", f"must be one of {', '.join(PROTOCOLS)}"))
        if not str(news.get("remote_url", "")).startswith("https://"):
            failures.append(CheckFailure("remote_url", "the image remote must be an https:// URL"))
        for key in ("source", "alias", "owner"):
            if not news.get(key):
                failures.append(CheckFailure(key, f"{key} is required"))
        if not failures:
            failures += self._live_problems(news)
        return CheckResult(news, failures)

    @staticmethod
    def _live_problems(props: dict[str, Any]) -> list[CheckFailure]:
        """At preview: the cluster is reachable as configured and the alias is ours to manage."""
        try:
            with lxd_client(LxdEndpoint.from_inputs(props["connection"])) as client:
                problem = ownership_problem(props["alias"], live_alias(client, props["alias"]), props["owner"])
        except (ConfigError, ConnectionSetupError) as error:
            # reported against `alias`: a failure on `connection` would make Pulumi print that secret input
            return [CheckFailure("alias", str(error))]
        if problem:
            return [CheckFailure("alias", problem)]
        remote_problem = remote_image_problem(props)
        return [CheckFailure("source", remote_problem)] if remote_problem else []

    def _sync(self, props: dict[str, Any]) -> dict[str, Any]:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            fingerprint = with_retries(lambda: copy_image(client, props), f"copy {props['source']}")
            previous = with_retries(lambda: point_alias(client, props["alias"], fingerprint, props["owner"],
                                                        props["source"]), f"alias {props['alias']}")
            if previous and previous != fingerprint:
                print(f"{props['alias']}: {previous[:12]} -> {fingerprint[:12]}", file=sys.stderr, flush=True)
                delete_if_unaliased(client, previous)
        return {**props, "fingerprint": fingerprint}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["alias"], self._sync(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["alias"] if olds.get("alias") != news.get("alias") else []
        changed = [k for k in (*SOURCE_KEYS, "owner") if olds.get(k) != news.get(k)]
        if not (replaces or changed) and self._drifted(olds):
            changed.append("fingerprint")  # someone removed or re-pointed the alias: put it back
        return DiffResult(changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True)

    @staticmethod
    def _drifted(olds: dict[str, Any]) -> bool:
        try:
            with lxd_client(LxdEndpoint.from_inputs(olds["connection"])) as client:
                live = live_alias(client, olds["alias"])
        except (ConfigError, ConnectionSetupError):
            return False  # unreachable now: check/update report it; a diff is no place to fail
        return live is None or live.get("target") != olds.get("fingerprint")

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._sync(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            live = live_alias(client, props["alias"])
            if live and alias_owner(live.get("description", "")) in (props.get("owner"), None) and \
                    live.get("target") == props.get("fingerprint"):
                with contextlib.suppress(NotFound):
                    client.api.images.aliases[props["alias"]].delete()
            delete_if_unaliased(client, props.get("fingerprint"))


class ImageAlias(pulumi.dynamic.Resource):
    fingerprint: pulumi.Output[str]
    alias: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ImageAliasProvider(), resource_name, {"fingerprint": None, **props},
                         with_secret_outputs(fixed_name(opts), ["connection"]))
