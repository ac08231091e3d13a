"""NetworkAcl's rules (its whole life is in test_named_objects): upstream's field names to LXD's and back,
compared as a set with their defaults, drift in a rule, an update of the rules, every rule checked at
preview naming the rule and the value."""

from __future__ import annotations

from lxd_provider.base import Context
from lxd_provider.network_acl import NetworkAcl
from lxd_provider.values import UNKNOWN
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import checker

ACL = NetworkAcl()
DNS = {"action": "allow", "destination": "1.1.1.1,1.0.0.1", "destinationPort": "53", "protocol": "udp",
       "description": "DNS"}
SSH = {"action": "allow", "source": "@external", "destinationPort": "22", "protocol": "tcp", "state": "logged"}
PING = {"action": "allow", "protocol": "icmp4", "icmpType": "8", "icmpCode": "0"}

checked = checker(ACL, name="web", egress=[DNS, PING], ingress=[SSH])


def reasons(ctx: Context, **declared: object) -> list[tuple[str, str]]:
    return ACL.check(ctx, {"name": "web", **declared})[1]


def test_rules_go_to_lxd_with_its_field_names_and_come_back_as_declared(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx)
    acl_id, state = ACL.create(ctx, inputs)
    stored = fake.acls["web"]
    assert {"action": "allow", "destination": "1.1.1.1,1.0.0.1", "destination_port": "53", "protocol": "udp",
            "state": "enabled", "description": "DNS", "source": "", "icmp_type": "", "icmp_code": ""}.items() <= \
        next(rule for rule in stored["egress"] if rule["protocol"] == "udp").items()
    found, outputs, live = ACL.read(ctx, acl_id, state, inputs)
    assert not ACL.diff(outputs, inputs).changes
    assert {**DNS, "state": "enabled"} in live["egress"] and "source" not in live["egress"][0]  # empty: left out
    reordered = {**inputs, "egress": [PING, {**DNS, "state": "enabled"}]}  # order and an explicit default
    assert not ACL.diff(outputs, reordered).changes


def test_a_rule_changed_by_hand_is_drift_and_an_update_puts_the_rules_back(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx)
    acl_id, state = ACL.create(ctx, inputs)
    fake.acls["web"]["ingress"][0]["destination_port"] = "22,2222"
    _, outputs, _ = ACL.read(ctx, acl_id, state, inputs)
    assert list(ACL.diff(outputs, inputs).detailed) == ["ingress"] and not ACL.diff(outputs, inputs).replaces
    news = {**inputs, "ingress": [SSH, {"action": "drop", "source": "10.0.0.0/8"}]}
    ACL.update(ctx, acl_id, outputs, news)
    assert sorted(rule["action"] for rule in fake.acls["web"]["ingress"]) == ["allow", "drop"]
    assert not ACL.diff(ACL.read(ctx, acl_id, state, news)[1], news).changes


def test_every_rule_is_checked_at_preview(ctx: Context) -> None:
    assert reasons(ctx, egress=[{"action": "permit"}], ingress=[{**SSH, "state": "on"}]) == [
        ("egress", "egress[0]: action 'permit' must be one of allow, allow-stateless, drop, reject"),
        ("ingress", "ingress[0]: state 'on' must be one of enabled, disabled, logged")]
    assert reasons(ctx, egress=[DNS, {"action": "allow", "destinationPort": "80"},
                                {"action": "allow", "protocol": "tcp", "icmpType": "8"}]) == [
        ("egress", "egress[1]: destinationPort needs protocol tcp or udp"),
        ("egress", "egress[2]: icmpType needs protocol icmp4 or icmp6")]
    assert [prop for prop, _ in reasons(ctx, ingress=[{"protocol": "tcp"}])] == ["ingress"]  # no action
    assert reasons(ctx, egress=[{**DNS, "protocol": UNKNOWN}], ingress=UNKNOWN) == []  # known later
