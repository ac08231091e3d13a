"""BalancedContainer: a container placed to keep the cluster even, bootstrapped, then configured.

Children, in order: the placement (dynamic: the member is chosen under a lock, the reservation holds
until the instance exists), the `lxd.Instance` created on that member (native provider), its
bootstrap over LXD exec (dynamic), and optionally one Ansible playbook applied to exactly this host
(dynamic, ansible-runner). Outputs: name, member (where it runs now), ipv4, SSH host key.
"""

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_lxd as lxd

from cluster.facts import GROUP_KEY
from config.containers import DataVolume
from config.site import AccessConfig
from provisioners.ansible_provider import AnsibleApply
from provisioners.bootstrap_plan import Mirror, bootstrap_plan
from provisioners.bootstrap_provider import Bootstrap
from provisioners.placement_provider import Placement


@dataclass
class PlaybookSpec:
    project_dir: str
    playbook: str
    extra_vars: pulumi.Input[dict] = field(default_factory=dict, repr=False)  # may hold secrets
    rolling_group: str | None = None  # containers of one group: set up together, updated one at a time


@dataclass
class BalancedContainerArgs:
    """What a balanced container is made of; values may be Pulumi Inputs where they come from other resources."""

    name: str
    image: pulumi.Input[str]  # an alias in the cluster (e.g. debian/stable): re-pointing it rebuilds nothing
    distro: str  # how it is bootstrapped: "debian" or "alpine"
    access: AccessConfig
    group: str | None = None  # anti-affinity group
    pinned_member: str | None = None
    group_size: int = 0  # containers the group will have: checked against the cluster at preview
    allow_group_overcommit: bool = False
    overcommit_setting: str | None = None  # the setting that allows it, named when the group is too big
    profiles: pulumi.Input[list[str]] = field(default_factory=lambda: ["default"])
    config: pulumi.Input[dict[str, str]] = field(default_factory=dict)
    devices: pulumi.Input[list[lxd.InstanceDeviceArgs]] = field(default_factory=list)
    replace_on_image_change: bool = False  # by default a new image reaches new containers only
    baked: bool = False  # the image is a BakedImage: the bootstrap only sets up this container's access
    playbook: PlaybookSpec | None = None
    volumes: list[DataVolume] = field(default_factory=list)


class BalancedContainer(pulumi.ComponentResource):
    name: pulumi.Output[str]
    member: pulumi.Output[str]
    ipv4: pulumi.Output[str]
    host_key: pulumi.Output[str]

    def __init__(self, resource_name: str, args: BalancedContainerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:BalancedContainer", resource_name, {}, opts)
        steps = bootstrap_plan(args.distro, Mirror.from_settings(args.access.mirror),
                               tuple(args.access.authorized_keys), args.baked)
        placement = Placement(f"{resource_name}-placement", args.name, group=args.group,
                              pinned_member=args.pinned_member, group_size=args.group_size,
                              allow_group_overcommit=args.allow_group_overcommit,
                              overcommit_setting=args.overcommit_setting,
                              opts=pulumi.ResourceOptions(parent=self))
        config = pulumi.Output.from_input(args.config).apply(
            lambda values: {**(values or {}), **({GROUP_KEY: args.group} if args.group else {})})
        self.volumes = [
            lxd.Volume(f"{resource_name}-{volume.suffix}", name=f"{args.name}-{volume.suffix}", pool=volume.pool,
                       target=placement.member, config={"size": volume.size},
                       opts=pulumi.ResourceOptions(parent=self))
            for volume in args.volumes
        ]
        devices: pulumi.Input[list[Any]] = args.devices
        if self.volumes:
            devices = [*args.devices, *[  # type: ignore[misc]
                lxd.InstanceDeviceArgs(name=spec.suffix, type="disk",
                                       properties={"pool": spec.pool, "source": volume.name, "path": spec.path})
                for spec, volume in zip(args.volumes, self.volumes, strict=True)]]
        self.instance: lxd.Instance = lxd.Instance(
            f"{resource_name}-instance", name=args.name, image=args.image, target=placement.member,
            profiles=args.profiles, config=config, devices=devices,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True,
                                        ignore_changes=[] if args.replace_on_image_change else ["image"]))
        bootstrap = Bootstrap(f"{resource_name}-bootstrap", self.instance.name, self.instance.uuid, args.distro,
                              args.access.mirror, args.access.authorized_keys, steps, baked=args.baked,
                              opts=pulumi.ResourceOptions(parent=self))
        self._resource_name, self._access = resource_name, args.access
        self.name, self.member, self.ipv4 = self.instance.name, self.instance.location, self.instance.ipv4_address
        self.host_key = bootstrap.host_key
        self.configured: pulumi.Resource = bootstrap
        if args.playbook is not None:
            self.configure(args.playbook, rolling_group=args.playbook.rolling_group)
        self.register_outputs({"name": self.name, "member": self.member, "ipv4": self.ipv4, "host_key": self.host_key})

    def configure(self, playbook: PlaybookSpec, after: list[pulumi.Resource] | None = None,
                  rolling_group: str | None = None) -> pulumi.Resource:
        """Applies `playbook` to this container once bootstrapped (and after `after`). Replicas of one
        service name the same `rolling_group`: their updates run one at a time, their first runs together.

        Separate from the constructor so a service can pass in values known only once all of its
        containers exist (e.g. VRRP peers' addresses).
        """
        self.configured = AnsibleApply(
            f"{self._resource_name}-configure", host=self.name, address=self.ipv4, host_key=self.host_key,
            private_key=self._access.private_key, project_dir=playbook.project_dir, playbook=playbook.playbook,
            extra_vars=playbook.extra_vars, rolling_group=rolling_group,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.configured, *(after or [])]),
        )
        return self.configured
