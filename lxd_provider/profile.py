"""`lxd:index/profile:Profile`: a profile (config and devices shared by the instances that use it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lxd_provider.base import Context, Failures
from lxd_provider.config_rules import INSTANCE, Table, changed_devices, device_problems
from lxd_provider.named import NamedObject
from lxd_provider.references import Reference, device_references
from lxd_provider.spec import (
    PROJECT,
    STRING,
    STRING_MAP,
    Prop,
    device_type,
    devices_by_name,
    devices_from_lxd,
    devices_to_lxd,
    list_of,
    ref,
    sorted_map,
)

DEVICE = device_type("lxd:index/ProfileDevice:ProfileDevice", "profile")


class Profile(NamedObject):
    token: ClassVar[str] = "lxd:index/profile:Profile"
    description: ClassVar[str] = "An LXD profile: config and devices applied to the instances that list it."
    collection = "profiles"
    what = "profile"
    types = (DEVICE,)
    props = (
        Prop("name", STRING, "Profile name.", required=True, replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("config", STRING_MAP, "Profile config.", default={}, normalize=sorted_map),
        Prop("devices", list_of(ref(DEVICE.token)), "Devices.", default=[], normalize=devices_by_name),
        PROJECT,
    )

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().body(inputs), "devices": devices_to_lxd(inputs.get("devices"))}

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        return [*super().references(inputs), *device_references("devices", inputs.get("devices"))]

    def config_table(self, inputs: Mapping[str, Any]) -> Table:
        """A profile takes instance options (of either instance type: it may serve both)."""
        return INSTANCE

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        devices = device_problems(changed_devices(inputs.get("devices"), ctx.olds.get("devices")))
        return [*super().lxd_problems(ctx, inputs), *(("devices", problem) for problem in devices)]

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().inputs_from(live, old), "devices": devices_from_lxd(live.get("devices")),
                "project": old.get("project", "default")}
