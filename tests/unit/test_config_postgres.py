"""`lxdha:postgres`: each setting checked against what consumes it, one case per rule (a refused value
and an accepted one), and the secrets it needs, from their keys or files, never echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from cluster.errors import ConfigError
from config.footprints import check_services_apart, vip_group_footprint
from config.postgres import check_distro, postgres_footprints, postgres_settings
from config.postgres_secrets import postgres_secrets
from config.registry import registry_settings
from lab.pki import issue_self_signed
from tests.unit.settings_edit import with_setting

VALID: dict[str, Any] = {
    "name": "pg", "members": 3, "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]},
    "haproxy": {"vip": "10.0.0.244", "vrid": 64},
    "backup": {"s3": {"endpoint": "https://10.0.0.55:9443", "bucket": "pgbackrest"}},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    return with_setting(VALID, path, value)


def test_valid_settings() -> None:
    settings = postgres_settings(VALID)
    assert settings.names() == ["pg-0", "pg-1", "pg-2"] and settings.subnet == "10.0.0.0/24"
    assert settings.synchronous and not settings.strict and settings.port == 5432
    assert (settings.timing.ttl_s, settings.timing.loop_wait_s, settings.timing.retry_timeout_s) == (20, 2, 3)
    assert settings.haproxy.vip_group.names() == ["pg-haproxy-0", "pg-haproxy-1"]
    assert settings.haproxy.vip_group.setting("vip") == "lxdha:postgres.haproxy.vip"
    assert (settings.haproxy.write_port, settings.haproxy.read_port) == (5432, 5433)
    assert settings.backup.host == "10.0.0.55" and settings.backup.port == 9443 and settings.backup.path == "/pg"
    assert settings.restore is None


@pytest.mark.parametrize(("rule", "path", "refused", "accepted", "key", "words"), [
    ("an odd number of members", "members", 4, 5, "lxdha:postgres.members", "odd number"),
    ("at least three members", "members", 1, 3, "lxdha:postgres.members", "odd number"),
    ("Patroni's timing rule", "patroni", {"ttlS": 20, "loopWaitS": 10, "retryTimeoutS": 6},
     {"ttlS": 22, "loopWaitS": 10, "retryTimeoutS": 6}, "lxdha:postgres.patroni.ttlS", "loopWaitS + 2 x"),
    ("Patroni's shortest ttl", "patroni", {"ttlS": 10}, {"ttlS": 20}, "lxdha:postgres.patroni.ttlS", "raises"),
    ("Patroni's shortest retry", "patroni", {"retryTimeoutS": 2}, {"retryTimeoutS": 3},
     "lxdha:postgres.patroni.retryTimeoutS", "raises"),
    ("PostgreSQL's port is not Patroni's", "port", 8008, 5432, "lxdha:postgres.port", "Patroni's REST API"),
    ("PostgreSQL's port is not etcd's", "port", 2379, 6432, "lxdha:postgres.port", "etcd's client port"),
    ("PostgreSQL's port is not sshd's", "port", 22, 5432, "lxdha:postgres.port", "sshd"),
    ("PostgreSQL runs unprivileged", "port", 543, 5432, "lxdha:postgres.port", "privileged"),
    ("reads and writes on their own ports", "haproxy.readPort", 5432, 5433, "lxdha:postgres.haproxy.readPort",
     "write port"),
    ("the HAProxy ports are not its stats port", "haproxy.writePort", 8404, 6432,
     "lxdha:postgres.haproxy.writePort", "stats"),
    ("the HAProxy ports are not sshd's", "haproxy.readPort", 22, 5433, "lxdha:postgres.haproxy.readPort", "sshd"),
    ("the VIP outside the DHCP range", "haproxy.vip", "10.0.0.150", "10.0.0.244", "lxdha:postgres.haproxy.vip",
     "DHCP range"),
    ("VRRPv3 only", "haproxy.vrrpVersion", 2, 3, "lxdha:postgres.haproxy.vrrpVersion", "VRRPv3"),
    ("a DHCP range in order", "network.dhcpRange", ["10.0.0.199", "10.0.0.100"], ["10.0.0.100", "10.0.0.199"],
     "lxdha:postgres.network.dhcpRange", "wrong order"),
    ("pgBackRest 2.45 reaches S3 over HTTPS only", "backup.s3.endpoint", "http://10.0.0.55:9000",
     "https://10.0.0.55:9443", "lxdha:postgres.backup.s3.endpoint", "https://"),
    ("an S3 bucket name S3 takes", "backup.s3.bucket", "PG_Backups", "pg-backups", "lxdha:postgres.backup.s3.bucket",
     ""),
    ("a clean repository path", "backup.s3.path", "pg/../x", "/pg-prod", "lxdha:postgres.backup.s3.path", ""),
    ("a systemd calendar event", "backup.schedule", "every night", "*-*-* 02:00:00", "lxdha:postgres.backup.schedule",
     "calendar"),
    ("a cluster name PostgreSQL takes unquoted", "name", "Pg-Main", "pg_main", "lxdha:postgres.name", "unquoted"),
    ("an application role name", "appUser", "App User", "app_user", "lxdha:postgres.appUser", "unquoted"),
    ("a data volume size LXD takes", "dataSize", "4 gigs", "8GiB", "lxdha:postgres.dataSize", "size LXD"),
    ("a data volume large enough", "dataSize", "100MiB", "2GiB", "lxdha:postgres.dataSize", "too small"),
    ("known settings only", "replicas", 3, None, "lxdha:postgres.replicas", "not a known setting"),
    ("the restore source is another repository", "restore",
     {"path": "/pg", "time": "2026-01-01 00:00:00+00"}, {"path": "/pg-old", "time": "2026-01-01 00:00:00+00"},
     "lxdha:postgres.restore.path", "archive over"),
    ("a restore time with its zone", "restore", {"path": "/pg-old", "time": "2026-01-01 00:00:00"},
     {"path": "/pg-old", "time": "2026-01-01 00:00:00+00"}, "lxdha:postgres.restore.time", "zone"),
    ("no restore time in the future", "restore", {"path": "/pg-old", "time": "2999-01-01 00:00:00+00"},
     {"path": "/pg-old", "time": "2026-01-01 00:00:00+00"}, "lxdha:postgres.restore.time", "future"),
])
def test_each_setting_against_what_consumes_it(rule: str, path: str, refused: Any, accepted: Any, key: str,
                                               words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        postgres_settings(_with(path, refused))
    assert caught.value.field == key and words in str(caught.value) and "Fix:" in str(caught.value), rule
    postgres_settings(_with(path, accepted))


def test_the_database_needs_a_debian_image() -> None:
    check_distro("debian")
    with pytest.raises(ConfigError, match="lxdha:postgres: needs a Debian image, and lxdha:image.distro is alpine"):
        check_distro("alpine")


def test_the_database_and_the_registry_do_not_share_a_vip() -> None:
    registry = registry_settings({"vip": "10.0.0.244", "network": VALID["network"],
                                  "s3": {"endpoint": "http://10.0.0.55:9000", "bucket": "registry"}},
                                 mirror_url="http://10.0.0.55:9000/debian")
    with pytest.raises(ConfigError) as caught:
        check_services_apart([vip_group_footprint(registry.vip_group), *postgres_footprints(postgres_settings(VALID))])
    assert caught.value.field == "lxdha:postgres.haproxy.vip"


class FakeConfig:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def get_object(self, key: str) -> Any:
        return self.values.get(key)


@pulumi.runtime.test
def test_secrets_come_from_keys_or_files_and_missing_ones_name_both(tmp_path: Path) -> None:
    cert, key = issue_self_signed("pg", ips=["10.0.0.244"])
    (tmp_path / "tls.key").write_text(key)
    raw = {**VALID, "tls": {"cert": cert, "keyFile": str(tmp_path / "tls.key")}}
    passwords = {name: f"{name}-secret-1" for name in ("postgresSuperuserPassword", "postgresReplicationPassword",
                                                       "postgresRewindPassword", "postgresRestApiPassword",
                                                       "postgresAppPassword", "postgresBackupS3AccessKey",
                                                       "postgresBackupS3SecretKey")}
    settings = postgres_settings(raw)
    secrets = postgres_secrets(FakeConfig(passwords), raw, settings)
    assert "secret-1" not in repr(secrets)
    missing = {k: v for k, v in passwords.items() if k != "postgresAppPassword"}
    with pytest.raises(ConfigError) as caught:
        postgres_secrets(FakeConfig(missing), raw, settings)
    assert caught.value.field == "lxdha:postgresAppPassword" and "lxdha:postgres.appPasswordFile" in str(caught.value)
    other_cert, _ = issue_self_signed("pg", ips=["10.0.0.1"])
    with pytest.raises(ConfigError) as caught:
        postgres_secrets(FakeConfig(passwords), {**raw, "tls": {**raw["tls"], "cert": other_cert}}, settings)
    assert caught.value.field == "lxdha:postgres.tls.cert" and "10.0.0.244" in str(caught.value)
    return secrets.app_password.apply(lambda value: None if value == "postgresAppPassword-secret-1" else 1 / 0)
