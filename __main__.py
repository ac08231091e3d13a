"""The stack: stack config -> components. One stack per environment (lab, prod)."""

import pulumi

from components.balanced_container import BalancedContainer, ContainerSpec, PlaybookSpec
from components.connection_config import endpoint_from_config
from components.containers_config import containers_settings
from components.image_alias import AlpineImageAlias
from components.registry import HARegistry, RegistryImage
from components.registry_config import registry_settings
from components.registry_secrets import registry_secrets
from components.site_config import access, image_source

config = pulumi.Config("lxdha")
connection = endpoint_from_config()
site_access = access(config)
image = AlpineImageAlias("base-image", connection, image_source(config))

# Plain balanced containers (config `lxdha:containers`), each configured by one playbook.
plain = containers_settings(config.get_object("containers"))
containers = [
    BalancedContainer(
        name,
        connection,
        ContainerSpec(name=name, image_alias=image.alias, distro=image.distro, group=plain.group),
        site_access,
        PlaybookSpec(project_dir=plain.ansible_dir, playbook=plain.playbook),
    )
    for name in plain.names()
]

# The HA registry (config `lxdha:registry`), when the stack has one.
registry_raw = config.get_object("registry")
if registry_raw is not None:
    registry_config = registry_settings(registry_raw)
    registry = HARegistry(
        "registry", connection, registry_config,
        registry_secrets(config, registry_raw, registry_config.vrrp.version),
        RegistryImage(image.alias, image.distro), site_access)
    pulumi.export("registry", {
        "url": registry.url,
        "vip": registry.vip,
        "replicas": [{"name": r.name, "member": r.member, "ipv4": r.ipv4} for r in registry.replicas],
    })

pulumi.export("image", {"alias": image.alias, "fingerprint": image.fingerprint})
pulumi.export("containers", [{"name": c.name, "member": c.member, "ipv4": c.ipv4} for c in containers])
