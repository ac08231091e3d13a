"""`lxd:index/volume:Volume`: a custom storage volume in a pool; on a pool local to each member,
`target` names the member that holds it (every call on it carries `?target=`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd
from pylxd.client import _APINode

from lxd_provider.base import Context, Failures, join_id
from lxd_provider.config_rules import VOLUMES, config_problems
from lxd_provider.named import NamedObject
from lxd_provider.references import Reference
from lxd_provider.spec import PROJECT, STRING, STRING_MAP, Prop, sorted_map
from lxd_provider.values import UNKNOWN

CONTENT_TYPES = ("filesystem", "block")


class Volume(NamedObject):
    token: ClassVar[str] = "lxd:index/volume:Volume"
    description: ClassVar[str] = "A custom LXD storage volume."
    id_description: ClassVar[str] = "[<project>/]<pool>/<name> (plus `target` in the state for local pools)"
    what = "volume"
    filled_in_by_lxd = ("",)  # every key
    props = (
        Prop("name", STRING, "Volume name.", required=True, replaces=True),
        Prop("pool", STRING, "Storage pool that holds it.", required=True, replaces=True),
        Prop("type", STRING, "Volume type (only custom volumes are managed).", default="custom", replaces=True),
        Prop("contentType", STRING, "filesystem or block.", default="filesystem", replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("config", STRING_MAP, "Volume config (e.g. size).", default={}, normalize=sorted_map),
        Prop("target", STRING, "Member that holds it, for a pool local to each member.", replaces=True),
        PROJECT,
        Prop("location", STRING, "Member that holds it (empty on shared pools).", input=False),
    )

    def node(self, client: pylxd.Client, inputs: Mapping[str, Any]) -> _APINode:
        return client.api.storage_pools[str(inputs["pool"])].volumes.custom

    def params(self, inputs: Mapping[str, Any]) -> dict[str, str]:
        return {"target": str(inputs["target"])} if inputs.get("target") else {}

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().body(inputs), "type": "custom", "content_type": inputs.get("contentType", "filesystem")}

    def immutable(self) -> tuple[str, ...]:
        return ("name", "type", "content_type")

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        failures = super().validate(inputs)
        if inputs.get("type", "custom") != "custom":
            failures.append(("type", "only custom volumes can be declared"))
        if inputs.get("contentType", "filesystem") not in CONTENT_TYPES:
            failures.append(("contentType", f"contentType must be one of {', '.join(CONTENT_TYPES)}"))
        return failures

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        return [*super().references(inputs), Reference("pool", "storage pool", inputs.get("pool")),
                Reference("target", "member", inputs.get("target"))]

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        """A volume's config keys depend on its pool's driver (read from the pool, or its declaration)."""
        failures = super().lxd_problems(ctx, inputs)
        pool = inputs.get("pool")
        if failures or pool is UNKNOWN:
            return failures
        found, driver = ctx.references.find("storage pool", str(pool))
        table = VOLUMES.get(driver) if found else None
        before = ctx.olds.get("config") if ctx.olds.get("pool") == pool else None
        return [("config", p) for p in config_problems(table, inputs.get("config"), before, family=ctx.family)] \
            if table else []

    def id_for(self, inputs: Mapping[str, Any]) -> str:
        return join_id(inputs.get("project"), f"{inputs['pool']}/{inputs['name']}")

    def inputs_for_id(self, resource_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
        parts = resource_id.split(":", 1)[-1].split("/")
        if len(parts) not in (2, 3):
            raise ValueError(f"volume id {resource_id!r} is not [<project>/]<pool>/<name>")
        project = parts[0] if len(parts) == 3 else "default"
        return {**state, "pool": parts[-2], "name": parts[-1], "project": project}

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().inputs_from(live, old), "pool": old.get("pool"), "type": "custom",
                "contentType": live.get("content_type", "filesystem"), "target": old.get("target"),
                "project": old.get("project", "default")}

    def outputs(self, ctx: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "location": inputs.get("target") or ""}
