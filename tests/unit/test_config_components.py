"""Settings of a component declared on its own (an HAProxy group, a balanced container): read by the same
rules as the stack's sections, each failure naming `<resource>.<field>`."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import ConfigError
from config.containers import DataVolume, container_settings
from config.haproxy import HealthCheck, haproxy_group_settings
from tests.unit.settings_edit import with_setting

GROUP: dict[str, Any] = {
    "replicas": 2, "vip": "10.0.0.230", "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]},
    "backends": [{"name": "web", "mode": "http", "check": {"kind": "http", "path": "/health"},
                  "servers": [{"name": "web-0", "address": "10.0.0.20", "port": 8080}]}],
    "frontends": [{"name": "www", "port": 80, "backend": "web", "mode": "http"}],
}
CONTAINER: dict[str, Any] = {"name": "app-0", "group": "app", "groupSize": 2,
                             "volumes": [{"suffix": "data", "path": "/srv/data", "size": "4GiB"}]}

_with = with_setting


def test_a_declared_haproxy_group() -> None:
    settings = haproxy_group_settings(GROUP, "edge")
    assert settings.vip_group.names() == ["haproxy-0", "haproxy-1"] and settings.stats_port == 8404
    assert settings.backends[0].check == HealthCheck("http", "/health")
    assert settings.backends[0].servers == GROUP["backends"][0]["servers"]
    assert settings.frontends[0].port == 80 and settings.ansible_dir.endswith("ansible")


@pytest.mark.parametrize(("path", "value", "field", "words"), [
    ("frontends", [], "edge.frontends", "non-empty list"),
    ("frontends.0.backend", "api", "edge.frontends[0].backend", "none of the backends"),
    ("frontends.0.mode", "tcp", "edge.frontends[0].mode", "does not match"),
    ("frontends.0.port", 22, "edge.frontends[0].port", "sshd's"),
    ("frontends.0.port", 8404, "edge.frontends[0].port", "statsPort"),
    ("frontends.0.name", "stats", "edge.frontends[0].name", "not a name haproxy takes"),
    ("backends.0.balance", "random", "edge.backends[0].balance", "not one of"),
    ("backends.0.check.path", "health", "edge.backends[0].check.path", "not a URL path"),
    ("backends.0.servers.0.address", "not a host!", "edge.backends[0].servers[0].address", ""),
    ("backends.0.servers.0.port", 0, "edge.backends[0].servers[0].port", "whole number"),
    ("backends.0.weight", 3, "edge.backends[0]", "weight"),
])
def test_a_bad_haproxy_group_names_the_property(path: str, value: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        haproxy_group_settings(_with(GROUP, path, value), "edge")
    assert caught.value.field.startswith(field) and words in str(caught.value), str(caught.value)


def test_two_backends_of_one_name_are_refused() -> None:
    raw = _with(GROUP, "backends", [GROUP["backends"][0], GROUP["backends"][0]])
    with pytest.raises(ConfigError, match=r"edge.backends\[1\].name: 'web' is used twice"):
        haproxy_group_settings(raw, "edge")


def test_a_declared_container() -> None:
    settings = container_settings(CONTAINER, "app")
    assert (settings.name, settings.group, settings.group_size) == ("app-0", "app", 2)
    assert settings.volumes == (DataVolume("data", "default", "4GiB", "/srv/data"),) and settings.playbook is None
    playbook = container_settings({**CONTAINER, "playbook": {"playbook": "base.yml", "rollingGroup": "app"}}, "app")
    assert playbook.playbook is not None and playbook.playbook.rolling_group == "app"


@pytest.mark.parametrize(("raw", "field", "words"), [
    (_with(CONTAINER, "name", "app_0"), "app.name", ""),
    (_with(CONTAINER, "group", None), "app.groupSize", "without a group"),
    (_with(CONTAINER, "volumes.0.size", "4G"), "app.volumes[0].size", "not a size"),
    (_with(CONTAINER, "volumes.0.path", "srv"), "app.volumes[0].path", ""),
    (_with(CONTAINER, "volumes", [CONTAINER["volumes"][0]] * 2), "app.volumes", "share a suffix"),
    ({**CONTAINER, "playbook": {"playbook": "../x.yml"}}, "app.playbook.playbook", "not a path inside"),
    ({**CONTAINER, "playbook": {"playbook": "missing.yml"}}, "app.playbook.playbook", "does not exist"),
    ({**CONTAINER, "image": "debian"}, "app", "image"),
])
def test_a_bad_container_names_the_property(raw: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        container_settings(raw, "app")
    assert caught.value.field.startswith(field) and words in str(caught.value), str(caught.value)
