"""BakedImage: the base image with every package the containers need already installed, behind a
stable alias (e.g. debian/stable-baked), so a new container's bootstrap is only its own access
(fresh SSH host keys, authorized keys, sshd) and then its role.

Baked once per (source image, distro, mirror, package plan); a changed plan bakes again and re-points
the alias without touching running containers (they keep what they were made from).
"""

from dataclasses import dataclass, field
from typing import Any

import pulumi

from provisioners.bake_provider import BakedImageResource


@dataclass
class BakedImageArgs:
    source_alias: pulumi.Input[str]  # the cached base image's alias (AlpineImageAlias.alias)
    source_fingerprint: pulumi.Input[str]  # a new base image bakes again
    alias: str  # the stable alias of the baked image
    distro: str
    mirror: dict[str, Any]
    packages: list[str] = field(default_factory=list)  # besides openssh + python3


class BakedImage(pulumi.ComponentResource):
    alias: pulumi.Output[str]
    fingerprint: pulumi.Output[str]

    def __init__(self, name: str, args: BakedImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:BakedImage", name, {}, opts)
        baked = BakedImageResource(f"{name}-bake", {
            "source_alias": args.source_alias, "source_fingerprint": args.source_fingerprint, "alias": args.alias,
            "distro": args.distro, "mirror": args.mirror, "packages": sorted(set(args.packages)),
            "owner": f"{pulumi.get_project()}/{pulumi.get_stack()}",
        }, pulumi.ResourceOptions(parent=self))
        # the alias is known once the bake has made its image (its fingerprint): until then an instance's
        # preview cannot look it up in the cluster, and waits for `up` rather than call it missing
        self.alias = pulumi.Output.all(baked.alias, baked.fingerprint).apply(lambda made: made[0])
        self.fingerprint = baked.fingerprint
        self.register_outputs({"alias": self.alias, "fingerprint": self.fingerprint})
