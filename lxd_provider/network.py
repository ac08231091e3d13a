"""`lxd:index/network:Network`: a managed network (bridge, macvlan, ...). On a cluster it is defined on
every member first, then created; member-specific keys (e.g. `parent`) go to the members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lxd_provider.config_rules import DOCS, NETWORKS
from lxd_provider.named import NamedObject
from lxd_provider.spec import PROJECT, STRING, STRING_MAP, Prop, sorted_map


class Network(NamedObject):
    token: ClassVar[str] = "lxd:index/network:Network"
    description: ClassVar[str] = ("An LXD managed network. Only declared config keys are compared (LXD fills in "
                                  "others, such as the bridge address, by itself).")
    collection = "networks"
    what = "network"
    pending_on_members = True
    variant = ("type", NETWORKS, "network type", f"{DOCS}/networks/")
    filled_in_by_lxd = ("",)  # every key
    member_keys = frozenset({"bridge.external_interfaces", "parent", "bgp.ipv4.nexthop", "bgp.ipv6.nexthop"})
    props = (
        Prop("name", STRING, "Network name (an interface name: at most 15 characters).", required=True,
             replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("type", STRING, f"{', '.join(NETWORKS)}.", default="bridge", replaces=True),
        Prop("config", STRING_MAP, "Network config (e.g. ipv4.address, ipv4.dhcp.ranges).", default={},
             normalize=sorted_map),
        PROJECT,
    )

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().body(inputs), "type": inputs.get("type", "bridge")}

    def immutable(self) -> tuple[str, ...]:
        return ("name", "type")

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        failures = super().validate(inputs)
        if len(str(inputs["name"])) > 15:
            failures.append(("name", "network names are interface names: at most 15 characters"))
        return failures

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().inputs_from(live, old), "type": live.get("type", "bridge"),
                "project": old.get("project", "default")}
