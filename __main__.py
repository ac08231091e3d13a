"""The stack: stack config -> components. One stack per environment (lab, prod)."""

import pulumi

from components.balanced_container import BalancedContainer, ContainerSpec, PlaybookSpec
from components.connection_config import endpoint_from_config
from components.image_alias import AlpineImageAlias
from components.site_config import access, image_source
from ops.pulumi_cli import ROOT

config = pulumi.Config("lxdha")
connection = endpoint_from_config()
site_access = access(config)
image = AlpineImageAlias("base-image", connection, image_source(config))

# Plain balanced containers (config `lxdha:containers`), each configured by the `base` playbook.
containers_config = config.get_object("containers") or {}
containers = [
    BalancedContainer(
        f"{containers_config.get('prefix', 'app')}-{index}",
        connection,
        ContainerSpec(name=f"{containers_config.get('prefix', 'app')}-{index}", image_alias=image.alias,
                      distro=image.distro, group=containers_config.get("group")),
        site_access,
        PlaybookSpec(project_dir=str(ROOT / "ansible"), playbook="base.yml"),
    )
    for index in range(int(containers_config.get("count", 0)))
]

pulumi.export("image", {"alias": image.alias, "fingerprint": image.fingerprint})
pulumi.export("containers", [{"name": c.name, "member": c.member, "ipv4": c.ipv4} for c in containers])
