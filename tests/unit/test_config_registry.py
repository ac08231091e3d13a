"""lxdha:registry validation (the bad-input table's registry rows), htpasswd, and per-replica vars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from cluster.errors import ConfigError
from components.registry import playbook_vars
from components.vip_replicas import keepalived_vars
from config.htpasswd import htpasswd_lines, parse_users_file
from config.registry import (
    DEFAULT_SERVER_SHA256,
    DEFAULT_SERVER_VERSION,
    REGISTRY_DEBUG_PORT,
    SSH_PORT,
    registry_endpoints,
    registry_settings,
)
from config.registry_secrets import registry_secrets
from config.vip_group import check_vip_is_not_an_endpoint
from lab.pki import issue_self_signed
from provisioners.bootstrap_plan import SSHD_DROP_IN
from tests.unit.settings_edit import with_setting

ROOT = Path(__file__).resolve().parents[2]
VALID: dict[str, Any] = {
    "replicas": 2, "vip": "10.0.0.240", "vrid": 51, "advertIntervalS": 0.3,
    "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]},
    "s3": {"endpoint": "http://10.0.0.55:9000", "bucket": "registry"},
}

MIRROR = "http://10.0.0.55:9000/debian"


def _with(path: str, value: Any) -> dict[str, Any]:
    return with_setting(VALID, path, value)


def test_valid_settings() -> None:
    settings = registry_settings(VALID, mirror_url=MIRROR)
    assert settings.names() == ["registry-0", "registry-1"]
    assert settings.vrrp.prefix_len == 24 and settings.vrrp.version == 3
    assert settings.vip_group.group == "registry"


@pytest.mark.parametrize(("path", "value", "field", "words"), [
    ("replicas", 1, "lxdha:registry.replicas", "not highly available"),
    ("replicas", 10, "lxdha:registry.replicas", "more than"),
    ("vip", "10.0.1.5", "lxdha:registry.vip", "outside the subnet"),
    ("vip", "10.0.0.150", "lxdha:registry.vip", "inside the DHCP range"),
    ("vip", "not-an-ip", "lxdha:registry.vip", "not an IPv4 address"),
    ("vrid", 0, "lxdha:registry.vrid", "from 1 to 255"),
    ("vrid", 256, "lxdha:registry.vrid", "from 1 to 255"),
    ("advertIntervalS", 0, "lxdha:registry.advertIntervalS", "seconds"),
    ("vrrpVersion", 2, "lxdha:registry.advertIntervalS", "whole seconds"),
    ("prefix", "bad_name", "lxdha:registry.prefix", "not a valid LXD name"),
    ("prefix", "x" * 70, "lxdha:registry.prefix", "at most 63"),
    ("network", None, "lxdha:registry.network.subnet", "is not set"),
    ("s3", None, "lxdha:registry.s3", "missing"),
    ("s3.endpoint", "10.0.0.55:9000", "lxdha:registry.s3.endpoint", "does not start with http://"),
    ("s3.endpoint", "http://10.0.0.55:9000/bucket", "lxdha:registry.s3.endpoint", "has a path"),
    ("s3.endpoint", "http://10.0.0.555:9000", "lxdha:registry.s3.endpoint", "not a valid IPv4 address"),
    ("s3.bucket", None, "lxdha:registry.s3.bucket", "not set"),
    ("replica", 2, "lxdha:registry.replica", "not a known setting"),
    ("vip", "1" * 600, "lxdha:registry.vip", "characters long"),
    ("server", "v3", "lxdha:registry.server", "not a mapping"),
    ("server", {"source": "docker"}, "lxdha:registry.server.source", "not a server source"),
    ("server", {"version": "3.1.2"}, "lxdha:registry.server.version", "not a release version"),
    ("server", {"version": "v3.1.3"}, "lxdha:registry.server.sha256", "default checksum belongs to"),
    ("server", {"sha256": "abc"}, "lxdha:registry.server.sha256", "64 hex digits"),
    ("server", {"url": "ftp://mirror/registry"}, "lxdha:registry.server.url", "http(s) URL"),
    ("server", {"checksum": "x"}, "lxdha:registry.server.checksum", "not a known setting"),
])
def test_bad_input_names_the_field_and_the_fix(path: str, value: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_settings(_with(path, value), mirror_url=MIRROR)
    assert caught.value.field == field
    assert words in str(caught.value) and "Fix:" in str(caught.value)


NETWORK = VALID["network"]
S3 = VALID["s3"]


# One row per rule the registry's consumers impose: (rule, path, refused, accepted, key, words). None removes.
@pytest.mark.parametrize(("rule", "path", "refused", "accepted", "key", "words"), [
    ("port: not sshd's (every container runs it for Ansible)", "port", 22, 5000, "port", "sshd"),
    ("port: not the registry's debug listener", "port", 5001, 5002, "port", "debug listener"),
    ("port: unprivileged (the server runs as its own user)", "port", 1023, 1024, "port", "privileged port"),
    ("port: a TCP port", "port", 65536, 65535, "port", "from 1 to 65535"),
    ("dhcpRange: first before last", "network.dhcpRange", ["10.0.0.199", "10.0.0.100"],
     ["10.0.0.100", "10.0.0.199"], "network.dhcpRange", "wrong order"),
    ("dhcpRange: inside the subnet", "network.dhcpRange", ["10.0.1.100", "10.0.1.199"],
     ["10.0.0.2", "10.0.0.99"], "network.dhcpRange", "not inside the subnet"),
    ("network: known keys only", "network", {**NETWORK, "gateway": "10.0.0.1"}, NETWORK, "network.gateway",
     "not a known setting"),
    ("s3.bucket: a name S3 allows", "s3.bucket", "Registry_Blobs", "registry-blobs", "s3.bucket", "not a bucket name"),
    ("s3.region: one word", "s3.region", "us east 1", "eu-west-1", "s3.region", "single word"),
    ("s3.rootDirectory: absolute", "s3.rootDirectory", "registry", "/registry", "s3.rootDirectory",
     "not an absolute path"),
    ("s3.rootDirectory: clean", "s3.rootDirectory", "/registry/../other", "/registry/other", "s3.rootDirectory",
     "not a clean path"),
    ("s3: known keys only", "s3", {**S3, "rootdirectory": "/r"}, {**S3, "rootDirectory": "/r"}, "s3.rootdirectory",
     "not a known setting"),
    ("tls: known keys only", "tls", {"certfile": "x.crt"}, {"certFile": "x.crt"}, "tls.certfile",
     "not a known setting"),
    ("advertIntervalS: VRRPv3 counts centiseconds", "advertIntervalS", 0.305, 0.31, "advertIntervalS",
     "whole centiseconds"),
    ("advertIntervalS: VRRPv3 at most 40.95 s", "advertIntervalS", 41, 40.95, "advertIntervalS", "0.01 to 40.95"),
    ("server.url: a well-formed URL", "server", {"url": "http://10.0.0.55:99999/registry"},
     {"url": "http://10.0.0.55:9000/registry"}, "server.url", "invalid port"),
])
def test_each_rule_refuses_and_accepts(rule: str, path: str, refused: Any, accepted: Any, key: str,
                                       words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_settings(_with(path, refused), mirror_url=MIRROR)
    assert caught.value.field == f"lxdha:registry.{key}" and words in str(caught.value), rule
    assert "Fix:" in str(caught.value)
    registry_settings(_with(path, accepted), mirror_url=MIRROR)


@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("VRRPv2 adverts are whole seconds", 1.5, 2, "whole seconds"),
    ("VRRPv2 adverts are at most 255 s", 256, 255, "from 1 to 255"),
])
def test_vrrp_v2_advert_interval(rule: str, refused: float, accepted: float, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_settings({**VALID, "vrrpVersion": 2, "advertIntervalS": refused}, mirror_url=MIRROR)
    assert caught.value.field == "lxdha:registry.advertIntervalS" and words in str(caught.value), rule
    registry_settings({**VALID, "vrrpVersion": 2, "advertIntervalS": accepted}, mirror_url=MIRROR)
    assert registry_settings({**_with("advertIntervalS", None), "vrrpVersion": 2}, mirror_url=MIRROR
                             ).vrrp.advert_interval_s == 1  # the default fits the version


def test_the_health_probes_use_the_ports_the_role_configures() -> None:
    """The registry's debug port is a role default, not a setting: config and role must agree on it."""
    defaults = yaml.safe_load((ROOT / "ansible/roles/registry/defaults/main.yml").read_text())
    keepalived = yaml.safe_load((ROOT / "ansible/roles/keepalived/defaults/main.yml").read_text())
    assert defaults["registry_debug_port"] == REGISTRY_DEBUG_PORT
    assert f":{REGISTRY_DEBUG_PORT}/" in keepalived["keepalived_check_url"]
    assert "Port " not in SSHD_DROP_IN and SSH_PORT == 22  # sshd keeps its default port in every container


def test_htpasswd_is_stable_and_verifies() -> None:
    users = {"alice": "s3cret", "bob": "hunter2"}
    first, second = htpasswd_lines(users), htpasswd_lines(users)
    assert first == second, "the same users must render the same file (no diff on re-up)"
    lines = dict(line.split(":", 1) for line in first.splitlines())
    assert bcrypt.checkpw(b"s3cret", lines["alice"].encode())
    assert not bcrypt.checkpw(b"wrong", lines["alice"].encode())
    assert "s3cret" not in first


def test_users_file_parsing() -> None:
    assert parse_users_file("# comment\nalice:pw:with:colons\n\n") == {"alice": "pw:with:colons"}
    with pytest.raises(ValueError, match="line 1"):
        parse_users_file("alice\n")


def test_playbook_vars_peers_and_secrets() -> None:
    settings = registry_settings(VALID, mirror_url=MIRROR)
    secrets = {"http_secret": "h", "htpasswd": "a:b", "tls_cert": "C", "tls_key": "K", "s3_access_key": "A",
               "s3_secret_key": "S", "vrrp_password": ""}
    extra = {**playbook_vars(settings, secrets), **keepalived_vars(settings.vrrp, "10.0.0.102",
                                                                   ["10.0.0.103", "10.0.0.102"])}
    assert extra["keepalived_peers"] == ["10.0.0.102", "10.0.0.103"]
    assert extra["keepalived_self_address"] == "10.0.0.102"
    assert extra["keepalived_vip"] == "10.0.0.240" and extra["keepalived_vrid"] == 51
    assert extra["registry_s3_endpoint"] == "http://10.0.0.55:9000"
    assert extra["registry_source"] == "artifact" and extra["registry_sha256"] == DEFAULT_SERVER_SHA256


@pytest.mark.parametrize(("endpoints", "vip", "holder"), [
    ({"lxdha:mirror.url": "10.0.0.55"}, "10.0.0.55", "lxdha:mirror.url (10.0.0.55)"),
    ({}, "10.0.0.55", "lxdha:registry.s3.endpoint (10.0.0.55)"),
    ({"lxd:remote": "lb.site.example"}, "10.0.0.60", "lxd:remote (lb.site.example)"),
])
def test_a_vip_that_is_one_of_the_stacks_endpoints_is_refused(endpoints: dict, vip: str, holder: str) -> None:
    settings = registry_settings({**VALID, "vip": vip}, mirror_url=MIRROR)
    resolve = {"lb.site.example": {"10.0.0.60"}}
    with pytest.raises(ConfigError) as caught:
        check_vip_is_not_an_endpoint(settings.vip_group, {**endpoints, **registry_endpoints(settings)},
                                     resolve=lambda host: resolve.get(host, {host}))
    assert caught.value.field == "lxdha:registry.vip" and holder in str(caught.value)


def test_a_free_vip_passes_the_endpoint_check() -> None:
    check_vip_is_not_an_endpoint(registry_settings(VALID, mirror_url=MIRROR).vip_group, {"lxd:remote": "10.0.0.100"},
                                 resolve=lambda h: {h})


class FakeConfig:
    """What registry_secrets reads of pulumi.Config: plain values by short key."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def get_object(self, key: str) -> Any:
        return self.values.get(key)


def _secrets_config(**changes: Any) -> dict[str, Any]:
    cert, key = issue_self_signed("registry", ips=["10.0.0.240"])
    values = {"registryS3AccessKey": "AKIA123", "registryS3SecretKey": "s3-secret-value",
              "registryUsers": {"alice": "alice-password"}, "registryTlsKey": key, "_cert": cert}
    values.update(changes)
    return values


def _read_secrets(values: dict[str, Any], **registry: Any) -> Any:
    raw = {**VALID, "tls": {"cert": values["_cert"]}, **registry}
    return registry_secrets(FakeConfig(values), raw, registry_settings({k: v for k, v in raw.items() if k != "tls"},
                                                                               mirror_url=MIRROR))


def test_registry_secrets_read_and_hide_in_repr() -> None:
    values = _secrets_config()
    secrets = _read_secrets(values)
    shown = repr(secrets)
    for secret in ("AKIA123", "s3-secret-value", "alice-password", "PRIVATE KEY"):
        assert secret not in shown


@pytest.mark.parametrize(("changes", "registry", "key", "words"), [
    ({"registryS3SecretKey": "two\nlines"}, {}, "lxdha:registryS3SecretKey", "whitespace"),
    ({"registryS3AccessKey": None}, {}, "lxdha:registryS3AccessKey", "is not set"),
    ({"_cert": issue_self_signed("registry", ips=["10.0.0.9"])[0]}, {}, "lxdha:registry.tls.cert",
     "do not include 10.0.0.240"),
    ({"registryTlsKey": issue_self_signed("other", ips=["10.0.0.240"])[1]}, {}, "lxdha:registryTlsKey",
     "does not belong"),
    ({"registryUsers": {"bad user": "x"}}, {}, "lxdha:registryUsers", "without ':' or spaces"),
    ({"registryVrrpPassword": "longer-than-eight"}, {"vrrpVersion": 2, "advertIntervalS": 1},
     "lxdha:registryVrrpPassword", "first 8 characters"),
])
def test_registry_secret_mistakes_name_the_key(changes: dict, registry: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _read_secrets(_secrets_config(**changes), **registry)
    assert caught.value.field == key and words in str(caught.value)
    for value in changes.values():
        if isinstance(value, str) and "PRIVATE KEY" in value:
            assert value.splitlines()[1] not in str(caught.value)


V2 = {"vrrpVersion": 2, "advertIntervalS": 1}


# One row per rule: (rule, refused config changes, accepted config changes, registry changes, key, words).
@pytest.mark.parametrize(("rule", "refused", "accepted", "registry", "key", "words"), [
    ("S3 key: no '\"' (config.yml quotes it)", {"registryS3SecretKey": 'abc"def'}, {"registryS3SecretKey": "abc'def"},
     {}, "lxdha:registryS3SecretKey", "double-quoted YAML"),
    ("S3 key: no '\\' (a YAML escape)", {"registryS3AccessKey": "AKIA\\123"}, {"registryS3AccessKey": "AKIA/123"}, {},
     "lxdha:registryS3AccessKey", "double-quoted YAML"),
    ("http secret: no Ansible template", {"registryHttpSecret": "x{{y}}"}, {"registryHttpSecret": "x{y}"}, {},
     "lxdha:registryHttpSecret", "template"),
    ("VRRPv2 password: no keepalived comment", {"registryVrrpPassword": "pass#1"}, {"registryVrrpPassword": "pass-1"},
     V2, "lxdha:registryVrrpPassword", "comment"),
    ("VRRPv2 password: at most 8 characters", {"registryVrrpPassword": "123456789"},
     {"registryVrrpPassword": "12345678"}, V2, "lxdha:registryVrrpPassword", "first 8 characters"),
    ("VRRPv3: no password (it has no authentication)", {"registryVrrpPassword": "pass-1"}, {}, {},
     "lxdha:registryVrrpPassword", "no authentication"),
    ("user: not starting with '#' (an htpasswd comment)", {"registryUsers": {"#ops": "pw"}},
     {"registryUsers": {"ops#": "pw"}}, {}, "lxdha:registryUsers", "comment"),
    ("user: no ':' (htpasswd and basic auth separator)", {"registryUsers": {"op:s": "pw"}},
     {"registryUsers": {"op.s": "pw"}}, {}, "lxdha:registryUsers", "without ':'"),
    ("user: no Ansible template", {"registryUsers": {"{{ops}}": "pw"}}, {"registryUsers": {"{ops}": "pw"}}, {},
     "lxdha:registryUsers", "template"),
    ("password: at most 72 bytes (bcrypt)", {"registryUsers": {"ops": "p" * 73}}, {"registryUsers": {"ops": "p" * 72}},
     {}, "lxdha:registryUsers", "72 bytes"),
])
def test_each_secret_rule_refuses_and_accepts(rule: str, refused: dict, accepted: dict, registry: dict, key: str,
                                              words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _read_secrets(_secrets_config(**refused), **registry)
    assert caught.value.field == key and words in str(caught.value), rule
    for value in refused.values():  # no secret is echoed (user names are not secret)
        for secret in (value.values() if isinstance(value, dict) else [value]):
            assert secret not in str(caught.value), rule
    _read_secrets(_secrets_config(**accepted), **registry)


def test_server_defaults_to_the_pinned_build_in_the_mirror() -> None:
    server = registry_settings(VALID, mirror_url=MIRROR + "/").server
    assert (server.source, server.version, server.sha256) == ("artifact", DEFAULT_SERVER_VERSION, DEFAULT_SERVER_SHA256)
    assert server.url == f"{MIRROR}/artifacts/distribution-registry/{DEFAULT_SERVER_VERSION}/registry-linux-amd64"


def test_server_without_a_mirror_needs_an_explicit_url() -> None:
    with pytest.raises(ConfigError) as caught:
        registry_settings(VALID)
    assert caught.value.field == "lxdha:registry.server.url" and "lxdha:mirror.url" in str(caught.value)
    pinned = {"version": "v3.2.0", "sha256": "A" * 64, "url": "https://mirror.example/registry"}
    server = registry_settings(_with("server", pinned)).server
    assert (server.version, server.sha256, server.url) == ("v3.2.0", "a" * 64, "https://mirror.example/registry")


def test_distro_source_needs_no_artifact() -> None:
    assert registry_settings(_with("server", {"source": "distro"})).server.source == "distro"


def test_a_baked_image_carries_the_distro_server_only_for_the_distro_source() -> None:
    assert registry_settings(VALID, mirror_url=MIRROR).packages() == ("keepalived",)
    assert registry_settings(_with("server", {"source": "distro"})).packages() == ("keepalived", "docker-registry")
