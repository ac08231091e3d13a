"""Dynamic provider for a baked image and the stable alias that points at it (e.g. debian/stable-baked).

The bake is orchestration (exec steps, publish), so it is a dynamic resource, thin over
provisioners/bake.py. A new plan (packages, mirror, source image) bakes a new image and re-points the
alias in place: running containers keep what they were made from; the image no alias uses any more
is removed (one a container was made from stays until that container is gone). The same plan never
bakes twice (the image carries its plan hash).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from cluster.connection import shared_client
from cluster.images import ensure_alias, read_alias, read_image, remove_alias
from cluster.retry import with_retries
from config.site import DISTROS
from provisioners.bake import bake, sweep
from provisioners.bootstrap_plan import Mirror, bake_plan, plan_hash
from provisioners.dynamic_support import ClusterProvider

REBAKE_KEYS = ("plan_hash", "source_alias", "source_fingerprint")


def steps_for(props: dict[str, Any]) -> list:
    return bake_plan(props["distro"], Mirror.from_settings(props["mirror"]), tuple(props.get("packages") or ()))


class BakeProvider(ClusterProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("distro") not in DISTROS:
            failures.append(CheckFailure("distro", f"distro must be one of {', '.join(DISTROS)}"))
        for key in ("alias", "source_alias", "owner"):
            if not news.get(key):
                failures.append(CheckFailure(key, f"{key} is required"))
        return CheckResult(news, failures)

    def _bake(self, props: dict[str, Any]) -> dict[str, Any]:
        steps = steps_for(props)
        with shared_client(self.endpoint()) as client:
            fingerprint, _ = bake(client, props["source_alias"], steps, props["plan_hash"], props["owner"],
                                  f"{props['distro']} base for {props['owner']} ({props['plan_hash']})")
            ensure_alias(client, props["alias"], fingerprint, props["owner"], f"bake={props['plan_hash']}")
            sweep(client, props["owner"])  # images of earlier plans that nothing uses any more
        return {**props, "fingerprint": fingerprint}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["alias"], self._bake(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["alias"] if olds.get("alias") != news.get("alias") else []
        changed = [k for k in REBAKE_KEYS if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._bake(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone when the image is gone (the next up bakes it again); a re-pointed alias is drift."""
        with shared_client(self.endpoint()) as client:
            if with_retries(lambda: read_image(client, props.get("fingerprint", "")), "read image") is None:
                return ReadResult(None, {})
            live = with_retries(lambda: read_alias(client, props["alias"]), "read alias")
        if live is None or live.get("target") != props.get("fingerprint"):
            return ReadResult(id_, {**props, "plan_hash": ""})  # differs from the program's: re-point it
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with shared_client(self.endpoint()) as client:
            remove_alias(client, props["alias"], props["owner"], props.get("fingerprint"))
            sweep(client, props["owner"])


class BakedImageResource(pulumi.dynamic.Resource):
    fingerprint: pulumi.Output[str]
    alias: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        steps = bake_plan(props["distro"], Mirror.from_settings(props["mirror"]), tuple(props.get("packages") or ()))
        super().__init__(BakeProvider(), resource_name, {**props, "plan_hash": plan_hash(steps), "fingerprint": None},
                         opts)
