"""The components served to other Pulumi languages (lxdha_components/): the SDK's analyzer reads their
inputs into a schema, and each reads its inputs with the stack's readers, naming `<resource>.<property>`."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from cluster.errors import ConfigError
from config.registry import KNOWN as REGISTRY_KNOWN
from lab.pki import issue_self_signed
from lxdha_components.hosted import (
    HOSTED,
    balanced_container_args,
    haproxy_group_args,
    postgres_cluster_args,
    registry_args,
)
from tests.support.certs import ssh_key_pair
from tests.unit.settings_edit import with_setting

ARMORED = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
PUBLIC_KEY, PRIVATE_KEY = ssh_key_pair()
HOSTED_INPUTS: dict[str, Any] = {
    "image": "debian/stable", "distro": "debian", "authorizedKeys": [PUBLIC_KEY],
    "sshPrivateKey": PRIVATE_KEY, "mirror": {"url": "http://10.0.0.55:9000/debian", "signingKey": ARMORED},
}
VIP_GROUP = {"vip": "10.0.0.240", "replicas": 2.0,  # numbers reach a hosted component as floats
             "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]}}
CERT, KEY = issue_self_signed("registry", ips=["10.0.0.240"])
REGISTRY: dict[str, Any] = {
    **HOSTED_INPUTS, **VIP_GROUP, "s3": {"endpoint": "http://10.0.0.55:9000", "bucket": "registry"},
    "tls": {"cert": CERT}, "tlsKey": KEY, "s3AccessKey": "access", "s3SecretKey": "secret", "users": {"ci": "pw"},
}
HAPROXY: dict[str, Any] = {
    **HOSTED_INPUTS, **VIP_GROUP,
    "backends": [{"name": "web", "servers": [{"name": "web-0", "address": "10.0.0.20", "port": 8080.0}]}],
    "frontends": [{"name": "www", "port": 80.0, "backend": "web"}],
}

PG_CERT, PG_KEY = issue_self_signed("postgres", ips=["10.0.0.244"])
POSTGRES: dict[str, Any] = {
    **HOSTED_INPUTS, "name": "orders", "members": 3.0,
    "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]},
    "haproxy": {"vip": "10.0.0.244", "vrid": 64.0},
    "backup": {"s3": {"endpoint": "https://10.0.0.55:9443", "bucket": "pgbackrest"}},
    "tls": {"cert": PG_CERT}, "tlsKey": PG_KEY, "backupS3AccessKey": "access", "backupS3SecretKey": "secret",
    **{field: "pw" for field in ("superuserPassword", "replicationPassword", "rewindPassword", "restApiPassword",
                                 "appPassword")},
}


def _schema() -> dict[str, Any]:
    result = Analyzer("lxdha").analyze(HOSTED)
    return generate_schema("lxdha", "0.0.0", None, result["component_definitions"], result["type_definitions"],
                           []).to_json()


def test_the_analyzer_reads_every_hosted_component_into_a_schema() -> None:
    resources = _schema()["resources"]
    assert set(resources) == {"lxdha:index:BalancedContainer", "lxdha:index:HAProxyGroup", "lxdha:index:HARegistry",
                              "lxdha:index:PostgresCluster"}
    registry = resources["lxdha:index:HARegistry"]
    assert set(registry["properties"]) == {"url", "vip"}
    assert set(resources["lxdha:index:BalancedContainer"]["properties"]) == {"name", "member", "ipv4", "hostKey"}
    # the inputs are the stack's section, by the same names, besides the files a hosted component has no use for
    files = {"httpSecretFile", "usersFile", "vrrpPasswordFile"}
    assert set(REGISTRY_KNOWN) - files <= set(registry["inputProperties"])
    # settings are plain; what may come from another resource, or is secret, is an input
    assert registry["inputProperties"]["vip"].get("plain") and "plain" not in registry["inputProperties"]["image"]
    assert "plain" not in registry["inputProperties"]["tlsKey"]


def test_hosted_inputs_are_read_by_the_stacks_rules() -> None:
    registry = registry_args("reg", REGISTRY)  # type: ignore[arg-type]
    assert registry.settings.vip_group.names() == ["registry-0", "registry-1"] and registry.secrets.tls_cert == CERT
    assert registry.access.authorized_keys == [PUBLIC_KEY] and registry.image.distro == "debian"
    group = haproxy_group_args("edge", HAPROXY)  # type: ignore[arg-type]
    assert group.frontends[0].port == 80 and group.backends[0].servers[0]["port"] == 8080  # type: ignore[index]
    container = balanced_container_args("app", {**HOSTED_INPUTS, "name": "app-0", "group": "app",  # type: ignore[arg-type]
                                                 "playbook": {"playbook": "base.yml", "rollingGroup": "app"}})
    assert container.name == "app-0" and container.playbook is not None and container.playbook.rolling_group == "app"
    database = postgres_cluster_args("db", POSTGRES)  # type: ignore[arg-type]
    assert database.settings.names() == ["orders-0", "orders-1", "orders-2"] and database.settings.key == "db"
    assert database.settings.haproxy.vip_group.vrrp.vrid == 64 and database.secrets.tls_cert == PG_CERT


def test_postgres_cluster_schema_takes_the_database_section_and_its_secrets() -> None:
    from config.postgres import KNOWN as POSTGRES_KNOWN

    database = _schema()["resources"]["lxdha:index:PostgresCluster"]
    files = {f"{field}PasswordFile" for field in ("app", "replication", "restApi", "rewind", "superuser")}
    assert set(POSTGRES_KNOWN) - files <= set(database["inputProperties"])
    assert {"writeEndpoint", "readEndpoint", "roles"} <= set(database["properties"])
    assert all("plain" not in database["inputProperties"][field] for field in ("superuserPassword", "tlsKey"))


@pytest.mark.parametrize(("path", "value", "field"), [
    ("members", 4.0, "db.members"),
    ("distro", "alpine", "db"),
    ("haproxy.vip", "10.0.0.150", "db.haproxy.vip"),
    ("backup.s3.endpoint", "http://10.0.0.55:9000", "db.backup.s3.endpoint"),
    ("tls.cert", issue_self_signed("other", ips=["10.0.0.9"])[0], "db.tls.cert"),
    ("appPassword", None, "db.appPassword"),
    ("superuserPassword", 'with "quote', "db.superuserPassword"),
])
def test_a_bad_postgres_input_names_the_property(path: str, value: Any, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        postgres_cluster_args("db", with_setting(POSTGRES, path, value))  # type: ignore[arg-type]
    assert caught.value.field == field, str(caught.value)


@pytest.mark.parametrize(("path", "value", "field"), [
    ("vip", "10.0.1.240", "reg.vip"),
    ("distro", "arch", "reg.distro"),
    ("sshPrivateKey", None, "reg.sshPrivateKey"),
    ("authorizedKeys", ["ssh-ed25519 AAAAbroken"], "reg.authorizedKeys[0]"),
    ("mirror.signingKey", "", "reg.mirror.signingKey"),
    ("tls.cert", issue_self_signed("other", ips=["10.0.0.9"])[0], "reg.tls.cert"),
    ("s3SecretKey", "two\nlines", "reg.s3SecretKey"),
    ("users", {}, "reg.users"),
])
def test_a_bad_hosted_input_names_the_property(path: str, value: Any, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_args("reg", with_setting(REGISTRY, path, value))  # type: ignore[arg-type]
    assert caught.value.field == field, str(caught.value)


def test_the_plugin_serves_the_schema_and_the_yaml_example_fits_it() -> None:
    import json
    from pathlib import Path

    import yaml
    from pulumi.provider.experimental.component import ComponentProvider

    from lxdha_components import VERSION

    root = Path(__file__).resolve().parents[2]
    assert yaml.safe_load((root / "lxdha_components/PulumiPlugin.yaml").read_text())["runtime"]["name"] == "python"
    schema = json.loads(ComponentProvider(HOSTED, "lxdha", version=VERSION).schema or "{}")
    assert schema["name"] == "lxdha" and schema["version"] == VERSION
    example = yaml.safe_load((root / "examples/registry-yaml/Pulumi.yaml").read_text())
    declared = [resource for resource in example["resources"].values() if resource["type"].startswith("lxdha:")]
    assert declared
    for resource in declared:
        component = schema["resources"][resource["type"]]
        assert set(resource["properties"]) <= set(component["inputProperties"])
        assert set(component["requiredInputs"]) <= set(resource["properties"])


@pulumi.runtime.test
def test_secret_passwords_of_hosted_users_are_hashed_once_they_resolve() -> None:
    """A YAML program's `users: {ci: ${ciPassword}}` reaches the component as a secret per value."""
    from config.htpasswd import parse_users_file

    registry = registry_args("reg", {**REGISTRY, "users": {"ci": pulumi.Output.secret("s3cret-pw")}})  # type: ignore[arg-type]
    return registry.secrets.htpasswd.apply(
        lambda lines: None if list(parse_users_file(lines)) == ["ci"] and "s3cret-pw" not in lines else 1 / 0)


def test_the_schema_copy_the_engine_caches_beside_the_plugin_is_current() -> None:
    from lxdha_components.schema_copy import cli_copy, served_schema

    assert cli_copy().read_text() == served_schema(), "rewrite it: python -m lxdha_components.schema_copy"
