"""`lxd:index/networkAcl:NetworkAcl`: an LXD network ACL, its egress and ingress rules with upstream's
fields (action, source, destination, protocol, destinationPort, icmpType, icmpCode, description,
state). Rules compare as a set, as upstream's do (LXD applies them by action, not by order), each with
its defaults filled in (state enabled, the rest empty: any). Every rule is checked at preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd
from pylxd.client import _APINode

from lxd_provider.base import Failures
from lxd_provider.config_rules import NETWORK_ACL, Table
from lxd_provider.named import NamedObject
from lxd_provider.spec import PROJECT, STRING, STRING_MAP, Prop, TypeSpec, list_of, ref, sorted_map
from lxd_provider.values import has_unknowns

ACTIONS = ("allow", "allow-stateless", "drop", "reject")
STATES = ("enabled", "disabled", "logged")
PROTOCOLS = ("", "icmp4", "icmp6", "tcp", "udp")
RULE_PROPS = (
    Prop("action", STRING, f"Action for matching traffic: {', '.join(ACTIONS)}.", required=True),
    Prop("source", STRING, "Comma-separated CIDRs or IP ranges, or source subject selectors (ingress); empty: any."),
    Prop("destination", STRING, "Comma-separated CIDRs or IP ranges, or destination subject selectors (egress); "
         "empty: any."),
    Prop("protocol", STRING, "icmp4, icmp6, tcp or udp; empty: any."),
    Prop("destinationPort", STRING, "With tcp or udp: comma-separated ports or ranges (start-end); empty: any."),
    Prop("icmpType", STRING, "With icmp4 or icmp6: the ICMP type number; empty: any."),
    Prop("icmpCode", STRING, "With icmp4 or icmp6: the ICMP code number; empty: any."),
    Prop("description", STRING, "Description of the rule."),
    Prop("state", STRING, f"{', '.join(STATES)}.", default="enabled"),
)
DIRECTIONS = ("egress", "ingress")
LXD_FIELD = {"destinationPort": "destination_port", "icmpType": "icmp_type", "icmpCode": "icmp_code"}
EGRESS, INGRESS = (TypeSpec(f"lxd:index/NetworkAcl{direction}:NetworkAcl{direction}",
                            f"A network ACL rule for {direction.lower()} traffic.", RULE_PROPS)
                   for direction in ("Egress", "Ingress"))


def full_rule(rule: Mapping[str, Any]) -> dict[str, str]:
    """A rule with every field, its defaults filled in (as LXD answers it)."""
    return {p.name: str(rule.get(p.name) or p.default or "") for p in RULE_PROPS}


def rules_as_set(rules: Any) -> list[dict[str, str]]:
    return sorted((full_rule(rule) for rule in rules or []), key=lambda rule: list(rule.values()))


def rule_from_lxd(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {p.name: rule.get(LXD_FIELD.get(p.name, p.name)) for p in RULE_PROPS}


def rule_problems(direction: str, index: int, rule: Mapping[str, Any]) -> Failures:
    """What is wrong with one rule, naming it (egress[0]) and the value; a value not known yet (preview) is
    checked once it is."""
    if not isinstance(rule, Mapping) or any(has_unknowns(rule.get(key)) for key in ("action", "state", "protocol")):
        return []
    rule = full_rule({k: v for k, v in rule.items() if not has_unknowns(v)})
    problems = [f"{field} {rule[field]!r} must be one of {', '.join(a for a in allowed if a)}"
                for field, allowed in (("action", ACTIONS), ("state", STATES), ("protocol", PROTOCOLS))
                if rule[field] not in allowed]
    problems += [f"{field} needs protocol {' or '.join(protocols)}" for field, protocols in (
        ("destinationPort", ("tcp", "udp")), ("icmpType", ("icmp4", "icmp6")), ("icmpCode", ("icmp4", "icmp6")))
        if rule[field] and rule["protocol"] not in protocols]
    return [(direction, f"{direction}[{index}]: {problem}") for problem in problems]


class NetworkAcl(NamedObject):
    token: ClassVar[str] = "lxd:index/networkAcl:NetworkAcl"
    description: ClassVar[str] = ("An LXD network ACL: egress and ingress rules that NICs and networks listing it "
                                  "(security.acls) apply.")
    what = "network ACL"
    types = (EGRESS, INGRESS)
    props = (
        Prop("name", STRING, "Network ACL name.", required=True, replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("config", STRING_MAP, "Network ACL config (user.* keys).", default={}, normalize=sorted_map),
        Prop("egress", list_of(ref(EGRESS.token)), "Rules for egress traffic.", default=[], normalize=rules_as_set),
        Prop("ingress", list_of(ref(INGRESS.token)), "Rules for ingress traffic.", default=[],
             normalize=rules_as_set),
        PROJECT,
    )

    def node(self, client: pylxd.Client, inputs: Mapping[str, Any]) -> _APINode:
        return client.api["network-acls"]

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        rules = {direction: [{LXD_FIELD.get(k, k): v for k, v in rule.items()} for rule in
                             rules_as_set(inputs.get(direction))] for direction in DIRECTIONS}
        return {**super().body(inputs), **rules}

    def config_table(self, inputs: Mapping[str, Any]) -> Table:
        return NETWORK_ACL

    def validate(self, inputs: dict[str, Any]) -> Failures:
        failures = super().validate(inputs)
        for direction in DIRECTIONS:
            rules = inputs.get(direction) or []
            for index, rule in enumerate(rules if isinstance(rules, list) else []):  # else: not known yet
                failures += rule_problems(direction, index, rule)
        return failures

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        """The rules as LXD holds them, its empty fields left out (as a declaration leaves them out)."""
        rules = {direction: [{k: v for k, v in rule.items() if v} for rule in rules_as_set(
            map(rule_from_lxd, live.get(direction) or []))] for direction in DIRECTIONS}
        return {**super().inputs_from(live, old), **rules, "project": old.get("project", "default")}
