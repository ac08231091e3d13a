"""The components another Pulumi language declares: each reads its inputs (lxdha_components/inputs.py) with
the stack's own readers, the resource's name standing for the section's key, then builds what the stack
would. Same classes, same type tokens (`lxdha:index:<Component>`), same outputs as the stack's components.
"""

from typing import Any

import pulumi

from cluster.errors import ConfigError
from components import balanced_container, haproxy_group, postgres_cluster, registry
from components.vip_replicas import ServiceImage
from config.containers import CONTAINER_KNOWN, container_settings
from config.haproxy import KNOWN as HAPROXY_KNOWN
from config.haproxy import haproxy_group_settings
from config.postgres import KNOWN as POSTGRES_KNOWN
from config.postgres import check_distro, postgres_settings
from config.postgres_secrets import backup_ca, checked_postgres_secrets
from config.registry import KNOWN as REGISTRY_KNOWN
from config.registry import registry_settings
from config.registry_secrets import IN_KEEPALIVED_CONF, VRRP_PASSWORD, checked_registry_secrets
from config.secret_values import Given, one_line
from config.site import DISTROS, AccessConfig, authorized_keys, checked_private_key, mirror
from lxdha_components.inputs import (
    BalancedContainerInputs,
    HAProxyGroupInputs,
    HARegistryInputs,
    HostedInputs,
    PostgresClusterInputs,
    whole_numbers,
)


def _section(inputs: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if key in known}


def _given(name: str, inputs: dict[str, Any], field: str) -> Given | None:
    return None if inputs.get(field) is None else (f"{name}.{field}", inputs[field])


def image_and_access(name: str, inputs: HostedInputs) -> tuple[ServiceImage, AccessConfig]:
    """The image containers are made from and how Ansible reaches them, each input checked as the stack's."""
    distro = inputs.get("distro")
    if distro not in DISTROS:
        raise ConfigError(f"{name}.distro", f"{distro!r} is not one of {', '.join(DISTROS)}",
                          "give how containers from the image are bootstrapped")
    access = AccessConfig(mirror(inputs.get("mirror"), distro, key=f"{name}.mirror"),
                          authorized_keys({"authorizedKeys": inputs.get("authorizedKeys")}, key=name),
                          pulumi.Output.secret(_private_key(name, inputs.get("sshPrivateKey"))))
    return ServiceImage(inputs["image"], distro, bool(inputs.get("baked", False))), access


def _private_key(name: str, value: Any) -> pulumi.Input[str]:
    if value is None:
        raise ConfigError(f"{name}.sshPrivateKey", "is not set", "give the private half of an authorized key")
    return checked_private_key(f"{name}.sshPrivateKey", value) if isinstance(value, str) else value


def _tls_cert(name: str, raw: dict[str, Any]) -> tuple[str, str]:
    return f"{name}.tls.cert", str((raw.get("tls") or {}).get("cert") or "")


def registry_args(name: str, inputs: HARegistryInputs) -> registry.HARegistryArgs:
    raw: dict[str, Any] = whole_numbers(dict(inputs))
    image, access = image_and_access(name, raw)  # type: ignore[arg-type]
    settings = registry_settings(_section(raw, REGISTRY_KNOWN), mirror_url=access.mirror["url"], key=name)
    secrets = checked_registry_secrets(
        settings, s3_access_key=_given(name, raw, "s3AccessKey"),  # type: ignore[arg-type]
        s3_secret_key=_given(name, raw, "s3SecretKey"),  # type: ignore[arg-type]
        users=(f"{name}.users", raw.get("users")), tls_cert=_tls_cert(name, raw),
        tls_key=_given(name, raw, "tlsKey"),  # type: ignore[arg-type]
        http_secret=_given(name, raw, "httpSecret"), vrrp_password=_given(name, raw, "vrrpPassword"))
    return registry.HARegistryArgs(settings, secrets, image, access)


def haproxy_group_args(name: str, inputs: HAProxyGroupInputs) -> haproxy_group.HAProxyGroupArgs:
    raw: dict[str, Any] = whole_numbers(dict(inputs))
    image, access = image_and_access(name, raw)  # type: ignore[arg-type]
    settings = haproxy_group_settings(_section(raw, HAPROXY_KNOWN), name)
    return haproxy_group.HAProxyGroupArgs(
        settings.vip_group, list(settings.frontends), list(settings.backends), image, access, settings.ansible_dir,
        settings.stats_port, one_line(_given(name, raw, "vrrpPassword"), VRRP_PASSWORD.what, IN_KEEPALIVED_CONF))


POSTGRES_PASSWORD_INPUTS = {"superuser": "superuserPassword", "replication": "replicationPassword",
                            "rewind": "rewindPassword", "rest_api": "restApiPassword", "app": "appPassword"}


def postgres_cluster_args(name: str, inputs: PostgresClusterInputs) -> postgres_cluster.PostgresClusterArgs:
    raw: dict[str, Any] = whole_numbers(dict(inputs))
    check_distro(str(raw.get("distro")), key=name, distro_setting=f"{name}.distro")
    image, access = image_and_access(name, raw)  # type: ignore[arg-type]
    settings = postgres_settings(_section(raw, POSTGRES_KNOWN), key=name)
    missing = [field for field in (*POSTGRES_PASSWORD_INPUTS.values(), "tlsKey", "backupS3AccessKey",
                                   "backupS3SecretKey") if raw.get(field) is None]
    if missing:
        raise ConfigError(f"{name}.{missing[0]}", "is not set", "give every password, the TLS key and the backup "
                          f"S3 keys as (secret) inputs; missing: {', '.join(missing)}")
    secrets = checked_postgres_secrets(
        settings, passwords={key: _given(name, raw, field) for key, field in POSTGRES_PASSWORD_INPUTS.items()},  # type: ignore[misc]
        tls_cert=_tls_cert(name, raw),
        tls_key=_given(name, raw, "tlsKey"),  # type: ignore[arg-type]
        s3_access_key=_given(name, raw, "backupS3AccessKey"),  # type: ignore[arg-type]
        s3_secret_key=_given(name, raw, "backupS3SecretKey"),  # type: ignore[arg-type]
        s3_ca=backup_ca(settings))
    return postgres_cluster.PostgresClusterArgs(settings, secrets, image, access)


def balanced_container_args(name: str, inputs: BalancedContainerInputs) -> balanced_container.BalancedContainerArgs:
    raw: dict[str, Any] = whole_numbers(dict(inputs))
    image, access = image_and_access(name, raw)  # type: ignore[arg-type]
    settings = container_settings(_section(raw, CONTAINER_KNOWN), name)
    playbook = settings.playbook and balanced_container.PlaybookSpec(
        settings.playbook.ansible_dir, settings.playbook.playbook, rolling_group=settings.playbook.rolling_group)
    return balanced_container.BalancedContainerArgs(
        name=settings.name, image=image.alias, distro=image.distro, access=access, group=settings.group,
        pinned_member=settings.member, group_size=settings.group_size,
        allow_group_overcommit=settings.allow_group_overcommit, overcommit_setting=f"{name}.allowGroupOvercommit",
        replace_on_image_change=settings.replace_on_image_change, baked=image.baked, playbook=playbook,
        volumes=list(settings.volumes))


class HARegistry(registry.HARegistry):
    """N registry replicas on different members sharing a keepalived VIP, blobs in S3 (docs/components.md)."""

    def __init__(self, name: str, args: HARegistryInputs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, registry_args(name, args), opts)


class HAProxyGroup(haproxy_group.HAProxyGroup):
    """N HAProxy replicas on different members sharing a keepalived VIP; frontends and backends as data."""

    def __init__(self, name: str, args: HAProxyGroupInputs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, haproxy_group_args(name, args), opts)


class PostgresCluster(postgres_cluster.PostgresCluster):
    """PostgreSQL with Patroni and etcd on 3, 5 or 7 members, pgBackRest to S3, behind an HAProxy group's VIP
    (docs/postgres.md)."""

    def __init__(self, name: str, args: PostgresClusterInputs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, postgres_cluster_args(name, args), opts)


class BalancedContainer(balanced_container.BalancedContainer):
    """A container placed to keep the cluster even, bootstrapped, then configured by one playbook."""

    def __init__(self, name: str, args: BalancedContainerInputs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, balanced_container_args(name, args), opts)


HOSTED = [BalancedContainer, HAProxyGroup, HARegistry, PostgresCluster]
