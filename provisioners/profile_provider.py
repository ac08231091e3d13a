"""Dynamic provider for an LXD profile: the smallest cluster object, used by the smoke stack.

pulumi_lxd cannot be generated here (see README, design notes), so cluster objects are dynamic
resources over pylxd. Inputs: `connection` (secret), `name`, `config`, `devices`, `description`.
The connection is also kept in the outputs (secret): delete only receives the outputs.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pylxd.exceptions import NotFound

from cluster.connection import LxdEndpoint, lxd_client
from cluster.names import instance_name_problem
from cluster.retry import with_retries
from provisioners.dynamic_support import with_secret_outputs

SPEC_KEYS = ("config", "devices", "description")


def profile_spec(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "config": dict(props.get("config") or {}),
        "devices": dict(props.get("devices") or {}),
        "description": props.get("description") or "",
    }


class ProfileProvider(ResourceProvider):
    """Create, update in place, and delete one LXD profile (a missing profile on delete is fine)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        problem = instance_name_problem(news.get("name", ""))
        failures = [CheckFailure("name", problem)] if problem else []
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        spec = profile_spec(props)
        with lxd_client(endpoint) as client:
            with_retries(lambda: client.profiles.create(props["name"], **spec), f"create profile {props['name']}")
        return CreateResult(props["name"], {"connection": props["connection"], "name": props["name"], **spec})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["name"] if olds.get("name") != news.get("name") else []
        changed = [key for key in SPEC_KEYS if profile_spec(olds)[key] != profile_spec(news)[key]]
        return DiffResult(changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        endpoint = LxdEndpoint.from_inputs(news["connection"])
        spec = profile_spec(news)
        with lxd_client(endpoint) as client:
            def apply() -> None:
                profile = client.profiles.get(news["name"])
                profile.config, profile.devices = spec["config"], spec["devices"]
                profile.description = spec["description"]
                profile.save(wait=True)

            with_retries(apply, f"update profile {news['name']}")
        return UpdateResult({"connection": news["connection"], "name": news["name"], **spec})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint = LxdEndpoint.from_inputs(props["connection"])
        with lxd_client(endpoint) as client:
            def remove() -> None:
                with contextlib.suppress(NotFound):
                    client.profiles.get(props["name"]).delete()

            with_retries(remove, f"delete profile {props['name']}")


class LxdProfile(pulumi.dynamic.Resource):
    """An LXD profile on the cluster."""

    name: pulumi.Output[str]
    config: pulumi.Output[dict]
    devices: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        connection: pulumi.Input[dict],
        name: str,
        config: dict[str, str] | None = None,
        devices: dict[str, dict[str, str]] | None = None,
        description: str = "",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "connection": pulumi.Output.secret(connection),
            "name": name,
            "config": config or {},
            "devices": devices or {},
            "description": description,
        }
        super().__init__(ProfileProvider(), resource_name, props, with_secret_outputs(opts, ["connection"]))
