"""`lxd:index/storagePool:StoragePool`: a storage pool. On a cluster it is defined on every member first
(member-specific keys such as `source` go there), then created."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lxd_provider.config_rules import DOCS, STORAGE_POOLS
from lxd_provider.named import NamedObject
from lxd_provider.spec import PROJECT, STRING, STRING_MAP, Prop, sorted_map

DRIVERS = tuple(STORAGE_POOLS)


class StoragePool(NamedObject):
    token: ClassVar[str] = "lxd:index/storagePool:StoragePool"
    description: ClassVar[str] = ("An LXD storage pool. Only declared config keys are compared (LXD fills in "
                                  "others, such as the source, by itself).")
    collection = "storage_pools"
    what = "storage pool"
    pending_on_members = True
    variant = ("driver", STORAGE_POOLS, "storage driver", f"{DOCS}/storage_drivers/")
    filled_in_by_lxd = ("",)  # every key
    member_keys = frozenset({"source", "size", "zfs.pool_name", "lvm.vg_name", "lvm.thinpool_name"})
    props = (
        Prop("name", STRING, "Pool name.", required=True, replaces=True),
        Prop("driver", STRING, f"Storage driver: {', '.join(DRIVERS)}.", required=True, replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("config", STRING_MAP, "Pool config (e.g. source, size).", default={}, normalize=sorted_map),
        PROJECT,
    )

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().body(inputs), "driver": inputs["driver"]}

    def immutable(self) -> tuple[str, ...]:
        return ("name", "driver")

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().inputs_from(live, old), "driver": live.get("driver", old.get("driver")),
                "project": old.get("project", "default")}
