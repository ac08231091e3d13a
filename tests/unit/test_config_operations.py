"""lxdha:operations: every entry checked before an operations command touches the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster.errors import ConfigError
from config.operations import HealthCheckSettings, OperationsSettings, operations_settings

CHECK = {"name": "vip", "url": "https://10.91.0.240/v2/", "expectStatus": [401], "insecure": True}
VALID: dict[str, Any] = {
    "healthChecks": [CHECK],
    "hostRequirements": ["net.ipv4.ip_nonlocal_bind=1", "net.ipv4.tcp_rmem=4096 87380 6291456"],
    "hostStep": "{python} -m lab fault restart-member {member}",
    "sysctlReader": "ip netns exec lxdha-{member} sysctl -n {key}",
}
KEY = "lxdha:operations"
CA_FILE = __file__  # any file that exists


def test_valid_settings_read() -> None:
    settings = operations_settings(VALID)
    assert settings.health_checks == (HealthCheckSettings("vip", CHECK["url"], (401,), 5.0, False),)
    assert settings.host_requirements[1] == ("net.ipv4.tcp_rmem", "4096 87380 6291456")
    assert operations_settings(None) == OperationsSettings()


@pytest.mark.parametrize(("rule", "changes", "accepted", "key", "words"), [
    ("known keys only", {"hostSteps": "x"}, {}, f"{KEY}.hostSteps", "not a known setting"),
    ("a mapping", "checks", {}, KEY, "must be an object"),
    ("healthChecks is a list", {"healthChecks": CHECK}, {"healthChecks": [CHECK]}, f"{KEY}.healthChecks",
     "not a list"),
    ("a check has a URL", {"healthChecks": [{"name": "x"}]}, {"healthChecks": [{"url": "http://10.0.0.5/"}]},
     f"{KEY}.healthChecks[0]", "has no url"),
    ("a check's URL parses", {"healthChecks": [{"url": "http://10.0.0.5:80x0/"}]},
     {"healthChecks": [{"url": "http://10.0.0.5:8080/health?verbose=1"}]}, f"{KEY}.healthChecks[0].url",
     "invalid port"),
    ("a check knows its keys", {"healthChecks": [{**CHECK, "expect": [200]}]}, {"healthChecks": [CHECK]},
     f"{KEY}.healthChecks[0].expect", "not a known setting"),
    ("expectStatus holds HTTP status codes", {"healthChecks": [{**CHECK, "expectStatus": [2000]}]},
     {"healthChecks": [{**CHECK, "expectStatus": [200, 401]}]}, f"{KEY}.healthChecks[0].expectStatus",
     "HTTP status codes"),
    ("timeoutS is above 0", {"healthChecks": [{**CHECK, "timeoutS": 0}]},
     {"healthChecks": [{**CHECK, "timeoutS": 0.5}]}, f"{KEY}.healthChecks[0].timeoutS", "above 0"),
    ("timeoutS is at most an hour", {"healthChecks": [{**CHECK, "timeoutS": 3601}]},
     {"healthChecks": [{**CHECK, "timeoutS": 3600}]}, f"{KEY}.healthChecks[0].timeoutS", "at most 3600"),
    ("insecure is true or false", {"healthChecks": [{**CHECK, "insecure": "yes"}]},
     {"healthChecks": [{**CHECK, "insecure": False}]}, f"{KEY}.healthChecks[0].insecure", "not true/false"),
    ("caFile or insecure, not both", {"healthChecks": [{**CHECK, "caFile": CA_FILE}]},
     {"healthChecks": [{**CHECK, "insecure": False, "caFile": CA_FILE}]}, f"{KEY}.healthChecks[0].insecure",
     "not both"),
    ("caFile exists", {"healthChecks": [{"url": "https://10.0.0.5/", "caFile": "/nonexistent/ca.crt"}]},
     {"healthChecks": [{"url": "https://10.0.0.5/", "caFile": CA_FILE}]}, f"{KEY}.healthChecks[0].caFile",
     "not a file"),
    ("a requirement is KEY=VALUE", {"hostRequirements": ["net.ipv4.ip_nonlocal_bind"]},
     {"hostRequirements": ["net.ipv4.ip_nonlocal_bind=1"]}, f"{KEY}.hostRequirements[0]", "not KEY=VALUE"),
    ("a requirement's key is a sysctl name", {"hostRequirements": ["ip nonlocal bind=1"]},
     {"hostRequirements": ["vm.max_map_count=262144"]}, f"{KEY}.hostRequirements[0]", "kernel parameter"),
    ("hostStep uses only its fields", {"hostStep": "ssh root@{address} reboot {key}"},
     {"hostStep": "ssh root@{address} reboot"}, f"{KEY}.hostStep", "cannot fill"),
    ("hostStep is a command", {"hostStep": "  "}, {"hostStep": "true"}, f"{KEY}.hostStep", "not a command"),
    ("sysctlReader parses like a shell", {"sysctlReader": "ssh '{address} sysctl -n {key}"},
     {"sysctlReader": "ssh '{address}' sysctl -n {key}"}, f"{KEY}.sysctlReader", "cannot fill"),
])
def test_each_rule_refuses_and_accepts(rule: str, changes: Any, accepted: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        operations_settings({**VALID, **changes} if isinstance(changes, dict) else changes)
    assert caught.value.field == key and words in str(caught.value) and "Fix:" in str(caught.value), rule
    operations_settings({**VALID, **accepted})


def test_a_ca_file_is_what_a_check_verifies_with(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("PEM")
    check = operations_settings({"healthChecks": [{"url": "https://10.0.0.5/", "caFile": str(ca)}]}).health_checks[0]
    assert check.verify == str(ca) and check.expect_status == (200,) and check.name == "https://10.0.0.5/"
