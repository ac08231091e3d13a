"""BalancedContainer: a container placed to keep the cluster even, bootstrapped, then configured.

Children, in order: the placed instance, its bootstrap over LXD exec, and (optionally) one Ansible
playbook applied to exactly this host. Outputs: name, member, ipv4, image fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from provisioners.ansible_provider import AnsibleApply
from provisioners.bootstrap_provider import Bootstrap
from provisioners.instance_provider import PlacedInstance


@dataclass
class AccessConfig:
    """How the controller reaches containers: mirror to bootstrap from, SSH keys for Ansible."""

    mirror: dict[str, Any]
    authorized_keys: list[str]
    private_key: pulumi.Input[str] = field(repr=False)  # secret: never in a repr


@dataclass
class PlaybookSpec:
    project_dir: str
    playbook: str
    extra_vars: pulumi.Input[dict] = field(default_factory=dict)


@dataclass
class ContainerSpec:
    name: str
    image_alias: pulumi.Input[str]
    distro: str
    group: str | None = None
    pinned_member: str | None = None
    group_size: int = 0  # containers the group will have: checked against the cluster at preview
    allow_group_overcommit: bool = False
    profiles: list[str] = field(default_factory=lambda: ["default"])
    config: dict[str, str] = field(default_factory=dict)
    devices: dict[str, dict[str, str]] = field(default_factory=dict)
    replace_on_image_change: bool = False


class BalancedContainer(pulumi.ComponentResource):
    name: pulumi.Output[str]
    member: pulumi.Output[str]
    ipv4: pulumi.Output[str]
    image_fingerprint: pulumi.Output[str]
    host_key: pulumi.Output[str]

    def __init__(self, resource_name: str, connection: pulumi.Input[dict], spec: ContainerSpec,
                 access: AccessConfig, playbook: PlaybookSpec | None = None,
                 opts: pulumi.ResourceOptions | None = None,
                 configure_after: list[pulumi.Resource] | None = None) -> None:
        super().__init__("lxdha:index:BalancedContainer", resource_name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        connection = pulumi.Output.secret(connection)
        instance = PlacedInstance(f"{resource_name}-instance", {
            "connection": connection,
            "name": spec.name,
            "image_alias": spec.image_alias,
            "group": spec.group,
            "pinned_member": spec.pinned_member,
            "group_size": spec.group_size,
            "allow_group_overcommit": spec.allow_group_overcommit,
            "profiles": spec.profiles,
            "config": spec.config,
            "devices": spec.devices,
            "replace_on_image_change": spec.replace_on_image_change,
            "owner": f"{pulumi.get_project()}/{pulumi.get_stack()}",
        }, child)
        bootstrap = Bootstrap(f"{resource_name}-bootstrap", connection, instance.name, instance.uuid, spec.distro,
                              access.mirror, access.authorized_keys, child)
        self._resource_name, self._access = resource_name, access
        self.name, self.member, self.ipv4 = instance.name, instance.member, instance.ipv4
        self.image_fingerprint, self.host_key = instance.image_fingerprint, bootstrap.host_key
        self.configured: pulumi.Resource = bootstrap
        if playbook is not None:
            self.configure(playbook, configure_after)
        self.register_outputs({"name": self.name, "member": self.member, "ipv4": self.ipv4,
                               "image_fingerprint": self.image_fingerprint})

    def configure(self, playbook: PlaybookSpec, after: list[pulumi.Resource] | None = None) -> pulumi.Resource:
        """Applies `playbook` to this container once bootstrapped (and after `after`, for rolling updates).

        Separate from the constructor so a service can pass in values known only once all of its
        containers exist (e.g. VRRP peers' addresses).
        """
        self.configured = AnsibleApply(
            f"{self._resource_name}-configure", host=self.name, address=self.ipv4, host_key=self.host_key,
            private_key=self._access.private_key, project_dir=playbook.project_dir, playbook=playbook.playbook,
            extra_vars=playbook.extra_vars,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.configured, *(after or [])]),
        )
        return self.configured
