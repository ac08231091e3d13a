"""Dynamic provider that bootstraps one container over LXD exec (mirror, upgrade, sshd, keys).

It re-runs when the plan changes (its hash is an input) or when the container is a new one (its
LXD uuid is an input); the plan's steps are idempotent, so a re-run after a half-way failure
converges.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, UpdateResult

from cluster.connection import shared_client
from provisioners.bootstrap import run_plan
from provisioners.bootstrap_plan import Mirror, Step, bootstrap_plan, plan_hash
from provisioners.dynamic_support import ClusterProvider

RERUN_KEYS = ("instance", "instance_uuid", "plan_hash")


def steps_for(props: dict[str, Any]) -> list:
    return bootstrap_plan(props["distro"], Mirror.from_settings(props["mirror"]), tuple(props["authorized_keys"]),
                          bool(props.get("baked")))


class BootstrapProvider(ClusterProvider):
    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        with shared_client(self.endpoint()) as client:
            host_key = run_plan(client, props["instance"], steps_for(props))
        return {**{k: v for k, v in props.items() if k != "connection"}, "host_key": host_key}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props['instance']}-bootstrap", self._run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = (*RERUN_KEYS, "authorized_keys", "distro")  # the mirror reaches it through plan_hash
        changed = [key for key in keys if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._run(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # nothing to undo: the container goes with its own resource


class Bootstrap(pulumi.dynamic.Resource):
    host_key: pulumi.Output[str]

    def __init__(self, resource_name: str, instance: pulumi.Input[str], instance_uuid: pulumi.Input[str],
                 distro: str, mirror: dict[str, Any], authorized_keys: list[str], steps: list[Step],
                 baked: bool = False, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "instance": instance,
            "instance_uuid": instance_uuid,
            "distro": distro,
            "mirror": mirror,
            "authorized_keys": authorized_keys,
            "baked": baked,
            "plan_hash": plan_hash(steps),
            "host_key": None,
        }
        super().__init__(BootstrapProvider(), resource_name, props, opts)
