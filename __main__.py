"""The stack: stack config -> components. One stack per environment (lab, prod).

Every setting is read and validated before the first resource is declared, so bad input fails
`pulumi preview`/`up` with one message naming the key and the fix, and nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from cluster.connection import lxd_client, reach_problem
from cluster.errors import ConfigError
from cluster.facts import read_instance
from components.baked_image import BakedImage, BakedImageArgs
from components.balanced_container import BalancedContainer, BalancedContainerArgs, PlaybookSpec
from components.image_alias import AlpineImageAlias, AlpineImageAliasArgs
from components.postgres_cluster import PostgresCluster, PostgresClusterArgs
from components.registry import HARegistry, HARegistryArgs
from components.vip_replicas import ServiceImage
from config.backup_catalog import check_restore_source
from config.checks import url_host
from config.containers import ContainersSettings, containers_settings
from config.footprints import check_services_apart, containers_footprint, vip_group_footprint
from config.lxd import endpoint_from_settings
from config.postgres import (
    PostgresSettings,
    check_distro,
    postgres_endpoints,
    postgres_footprints,
    postgres_packages,
    postgres_settings,
)
from config.postgres_secrets import PostgresSecrets, postgres_secrets
from config.registry import RegistrySettings, registry_endpoints, registry_settings
from config.registry_secrets import RegistrySecrets, registry_secrets
from config.site import AccessConfig, BakeSettings, ImageSource, access, bake_settings, image_source, lxd_remote_host
from config.stack import check_stack_keys
from config.vip_group import check_vip_is_not_an_endpoint


@dataclass
class StackSettings:
    access: AccessConfig
    image: ImageSource
    bake: BakeSettings
    containers: ContainersSettings
    registry: tuple[RegistrySettings, RegistrySecrets] | None
    postgres: tuple[PostgresSettings, PostgresSecrets] | None


def read_settings() -> StackSettings:
    """Every setting, validated; raises ConfigError naming the first key at fault and the fix."""
    config = pulumi.Config("lxdha")
    check_stack_keys({**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()})
    remote_host = lxd_remote_host(pulumi.Config("lxd").get)  # the providers read lxd:* themselves; checked here first
    unreachable = reach_problem(str(pulumi.Config("lxd").get("remote")))
    if unreachable:
        raise ConfigError("lxd:remote", unreachable, "check the address and port of the cluster's load balancer "
                          "(or member), that it runs, and that this machine may reach it")
    image = image_source(config.get_object("image"))
    site_access = access(config, image)
    endpoints = {  # the stack's own endpoints, which no service's VIP may be
        "lxd:remote": remote_host,
        "lxdha:image.remote": url_host(image.remote_url),
        "lxdha:mirror.url": url_host(site_access.mirror["url"]),
    }
    registry: tuple[RegistrySettings, RegistrySecrets] | None = None
    raw: Any = config.get_object("registry")
    if raw is not None:
        settings = registry_settings(raw, mirror_url=site_access.mirror["url"])
        check_vip_is_not_an_endpoint(settings.vip_group, {**endpoints, **registry_endpoints(settings)})
        registry = (settings, registry_secrets(config, raw, settings))
    postgres: tuple[PostgresSettings, PostgresSecrets] | None = None
    raw = config.get_object("postgres")
    if raw is not None:
        database = postgres_settings(raw)
        check_distro(image.distro)
        check_vip_is_not_an_endpoint(database.haproxy.vip_group, {**endpoints, **postgres_endpoints(database)})
        postgres = (database, postgres_secrets(config, raw, database))
        if database.restore is not None and not _instance_exists(database.names()[0]):
            check_restore_source(config, raw, database)  # only while the restored cluster is still to be made
    containers = containers_settings(config.get_object("containers"))
    check_services_apart([*([vip_group_footprint(registry[0].vip_group)] if registry else []),
                          *(postgres_footprints(postgres[0]) if postgres else []),
                          containers_footprint(containers)])  # a clash names the later one: the plain containers
    return StackSettings(site_access, image, bake_settings(config.get_object("image")), containers, registry,
                         postgres)


def _instance_exists(name: str) -> bool:
    with lxd_client(endpoint_from_settings(pulumi.Config("lxd").get, Path.cwd())) as client:
        return read_instance(client, name) is not None


def declare(settings: StackSettings) -> None:
    image = AlpineImageAlias("base-image", AlpineImageAliasArgs(settings.image))
    container_image: pulumi.Input[str] = image.alias
    if settings.bake.enabled:
        packages = [*settings.bake.packages, *(settings.registry[0].packages() if settings.registry else ()),
                    *(postgres_packages() if settings.postgres else ())]
        baked = BakedImage("baked-image", BakedImageArgs(
            source_alias=image.alias, source_fingerprint=image.fingerprint, alias=settings.bake.alias,
            distro=image.distro, mirror=settings.access.mirror, packages=packages))
        container_image = baked.alias
        pulumi.export("baked_image", {"alias": baked.alias, "fingerprint": baked.fingerprint})
    plain = settings.containers
    containers = [
        BalancedContainer(name, BalancedContainerArgs(
            name=name, image=container_image, distro=image.distro, access=settings.access, group=plain.group,
            pinned_member=plain.member, baked=settings.bake.enabled,
            playbook=PlaybookSpec(project_dir=plain.ansible_dir, playbook=plain.playbook)))
        for name in plain.names()
    ]
    if settings.registry is not None:
        registry = HARegistry("registry", HARegistryArgs(
            *settings.registry, ServiceImage(container_image, image.distro, baked=settings.bake.enabled),
            settings.access))
        pulumi.export("registry", {
            "url": registry.url,
            "vip": registry.vip,
            "replicas": [{"name": r.name, "member": r.member, "ipv4": r.ipv4} for r in registry.replicas],
        })
    if settings.postgres is not None:
        database = PostgresCluster("postgres", PostgresClusterArgs(
            *settings.postgres, ServiceImage(container_image, image.distro, baked=settings.bake.enabled),
            settings.access))
        pulumi.export("postgres", {
            "write_endpoint": database.write_endpoint,
            "read_endpoint": database.read_endpoint,
            "members": [{"name": m.name, "member": m.member, "ipv4": m.ipv4,
                         "role": pulumi.Output.all(database.roles, m.name).apply(lambda v: v[0].get(v[1], "unknown"))}
                        for m in database.members],
            "haproxy": [{"name": r.name, "member": r.member, "ipv4": r.ipv4} for r in database.haproxy.replicas],
        })
    pulumi.export("image", {"alias": image.alias, "fingerprint": image.fingerprint})
    pulumi.export("containers", [{"name": c.name, "member": c.member, "ipv4": c.ipv4} for c in containers])


try:
    declare(read_settings())
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None  # the message names the key and the fix; no traceback
