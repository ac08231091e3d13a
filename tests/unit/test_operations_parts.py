"""The operations commands' small parts: bounded health gates, command templates, host requirement
findings, stack config parsing, scope and member order."""

from __future__ import annotations

import json

import pytest

from cluster.errors import ConfigError
from cluster.facts import MemberFact as MemberInfo
from ops.command_template import render, run
from ops.health import CheckResult, FunctionCheck, HttpCheck, wait_healthy
from ops.host_requirements import KEEPALIVED, SysctlRequirement, check_requirements, merge
from ops.rolling import member_order
from ops.services import services
from ops.workloads import ClusterSnapshot, Scope
from tests.support.fake_clock import FakeClock
from toolchain.stack_config import endpoint_from_stack, parse_config_json


def test_gate_waits_until_healthy_then_passes() -> None:
    answers = iter([False, False, True])
    clock = FakeClock()
    result = wait_healthy([FunctionCheck("svc", lambda: next(answers))], timeout_s=60, interval_s=2,
                          sleep=clock.sleep, clock=clock)
    assert result.ok and result.attempts == 3


def test_gate_is_bounded_by_time_and_by_count() -> None:
    clock = FakeClock()
    down = [FunctionCheck("svc", lambda: CheckResult(False, "503"))]
    by_time = wait_healthy(down, timeout_s=10, interval_s=2, max_attempts=100, sleep=clock.sleep, clock=clock)
    assert not by_time.ok and by_time.attempts == 6 and by_time.failures() == ["svc: 503"]
    by_count = wait_healthy(down, timeout_s=1e9, interval_s=2, max_attempts=3, sleep=clock.sleep, clock=clock)
    assert by_count.attempts == 3


def test_a_crashing_check_fails_the_gate_with_its_reason() -> None:
    def boom() -> bool:
        raise RuntimeError("no route")
    result = wait_healthy([FunctionCheck("svc", boom)], max_attempts=1)
    assert result.failures() == ["svc: RuntimeError: no route"]


def test_http_check_reports_unreachable_as_unhealthy() -> None:
    result = HttpCheck("x", "http://127.0.0.1:9/", timeout_s=1).check()
    assert not result.ok and "GET http://127.0.0.1:9/" in result.detail


def test_templates_fill_words_without_a_shell() -> None:
    assert render("ssh root@{address} sysctl -n {key}", address="10.0.0.1", key="a.b")[-1] == "a.b"
    assert render("echo {member}", member="m1; rm -rf /") == ["echo", "m1; rm -rf /"]
    with pytest.raises(ConfigError, match="cannot fill"):
        render("echo {nope}", member="m1")


def test_commands_are_bounded() -> None:
    assert run(["sleep", "5"], timeout_s=0.2).returncode == 124
    assert run(["/nonexistent-binary"], timeout_s=1).returncode == 127


class DictReader:
    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = values

    def read(self, member: str, address: str, key: str) -> str | None:
        return self.values.get((member, key))


def test_findings_name_host_and_parameter() -> None:
    reader = DictReader({("m1", "net.ipv4.ip_nonlocal_bind"): "1", ("m2", "net.ipv4.ip_nonlocal_bind"): "0"})
    report = check_requirements(KEEPALIVED, {"m1": "a", "m2": "b", "m3": "c"}, reader)
    assert not report.ok and report.checked == 3
    lines = report.lines()
    assert lines[0].startswith("m2: net.ipv4.ip_nonlocal_bind is 0, keepalived needs 1")
    assert "ansible/hosts.yml" in lines[0]
    assert lines[1].startswith("m3: cannot read net.ipv4.ip_nonlocal_bind")


def test_conflicting_declarations_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="a needs 1 but b needs 0"):
        merge([SysctlRequirement("k", "1", "a"), SysctlRequirement("k", "0", "b")])
    assert len(merge([SysctlRequirement("k", "1", "a"), SysctlRequirement("k", "1", "b")])) == 1
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        SysctlRequirement.parse("net.ipv4.ip_forward")


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_stack_config_gives_the_same_endpoint_as_the_program(tmp_path) -> None:
    key = tmp_path / "client.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    raw = {
        "lxd:remote": {"value": "https://10.91.0.10:8443", "secret": False},
        "lxd:serverFingerprint": {"value": "AB:" * 31 + "AB", "secret": False},
        "lxd:clientCert": {"value": PEM, "secret": False},
        "lxd:clientKeyFile": {"value": "client.key", "secret": False},
        "lxdha:operations": {"value": "{}", "objectValue": {
            "healthChecks": [{"name": "vip", "url": "https://10.91.0.240/v2/", "insecure": True}],
            "hostRequirements": ["net.ipv4.ip_nonlocal_bind=1"]}, "secret": False},
    }
    config = parse_config_json("lab", json.dumps(raw), workdir=tmp_path)
    endpoint = endpoint_from_stack(config)
    assert endpoint.server_fingerprint == "ab" * 32 and "PRIVATE KEY" in endpoint.client_key_pem
    found = services(config)
    assert found[0].checks[0].verify is False and found[1].requirements[0].key == "net.ipv4.ip_nonlocal_bind"
    with pytest.raises(ConfigError, match="lxd:remote"):
        endpoint_from_stack(parse_config_json("x", "{}"))


def test_scope_and_member_order() -> None:
    assert Scope(prefix="ops-").includes("ops-a", {"user.lxdha.managed": "true"})
    assert not Scope(prefix="ops-").includes("app-0", {"user.lxdha.managed": "true"})
    assert not Scope().includes("foreign", {})
    assert Scope(managed_only=False).whole_cluster
    info = {n: MemberInfo(n, "Online", "", ("database-leader",) if n == "m1" else ()) for n in ("m1", "m2", "m3")}
    snapshot = ClusterSnapshot([], info, [])
    assert member_order(snapshot, None) == ["m2", "m3", "m1"]
    assert member_order(snapshot, ["m1", "m3"]) == ["m3", "m1"]
    with pytest.raises(ValueError, match="not cluster members: m9"):
        member_order(snapshot, ["m9"])


def test_a_replica_missing_from_the_cluster_keeps_the_registry_gate_closed() -> None:
    """Soak (7-roll run): LXD lost a replica in a move whose target was cut off; the gate only looked at
    the replicas that exist, passed with one, and the next roll moved that one away (a 17.6 s VIP gap)."""
    from cluster.facts import GROUP_KEY, MANAGED_KEY
    from ops.services import ReplicasReady
    from tests.support.fake_lxd import FakeLxd

    fake = FakeLxd.cluster()
    fake.add_instance("reg-0", "m1", config={MANAGED_KEY: "true", GROUP_KEY: "reg"})
    fake.exec_handler = lambda _name, command: (0, "401" if command[0] == "python3" else "MASTER\n", "")
    gate = ReplicasReady(endpoint=None, group="reg", expected=("reg-0", "reg-1"))  # type: ignore[arg-type]
    result = gate.check_with(fake.client())
    assert not result.ok and "reg-1" in result.detail and "pulumi up" in result.detail
    fake.add_instance("reg-1", "m2", config={MANAGED_KEY: "true", GROUP_KEY: "reg"})
    assert gate.check_with(fake.client()).ok


def test_the_replicas_gate_asks_each_registry_on_the_configured_port() -> None:
    from cluster.facts import GROUP_KEY, MANAGED_KEY
    from ops.services import ReplicasReady
    from tests.support.fake_lxd import FakeLxd

    fake = FakeLxd.cluster()
    fake.add_instance("reg-0", "m1", config={MANAGED_KEY: "true", GROUP_KEY: "reg"})

    def answer(_name: str, command: list[str]) -> tuple[int, str, str]:
        if command[0] != "python3":
            return 0, "MASTER\n", ""
        return 0, "401" if "127.0.0.1:5443/v2/" in command[-1] else "refused", ""

    fake.exec_handler = answer
    assert ReplicasReady(endpoint=None, group="reg", port=5443).check_with(fake.client()).ok  # type: ignore[arg-type]
    assert not ReplicasReady(endpoint=None, group="reg").check_with(fake.client()).ok  # type: ignore[arg-type]
