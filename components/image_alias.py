"""AlpineImageAlias: a base image cached in the cluster plus a stable alias (e.g. alpine/stable).

The name is kept from the original design; it works for any distro. Containers refer to the alias,
so pointing it at a newer image (a new `source`) never rebuilds them: the new lxd.CachedImage takes
the alias over, the old one is deleted without touching it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_lxd as lxd


@dataclass(frozen=True)
class ImageSource:
    remote_url: str  # e.g. https://images.lxd.canonical.com (prod) or the lab's image remote
    protocol: str  # "simplestreams" or "lxd"
    source: str  # alias on the remote, e.g. alpine/3.23
    alias: str  # the stable local alias, e.g. alpine/stable
    distro: str  # how containers from it are bootstrapped: "alpine" or "debian"
    remote_certificate: str = field(default="", repr=False)  # PEM that pins an LXD-protocol image server


@dataclass
class AlpineImageAliasArgs:
    image: ImageSource


class AlpineImageAlias(pulumi.ComponentResource):
    alias: pulumi.Output[str]
    fingerprint: pulumi.Output[str]
    distro: str

    def __init__(self, name: str, args: AlpineImageAliasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:AlpineImageAlias", name, {}, opts)
        image = args.image
        self.distro = image.distro
        cached = lxd.CachedImage(
            f"{name}-image", source_remote=image.remote_url, source_protocol=image.protocol,
            source_certificate=image.remote_certificate, source_image=image.source, aliases=[image.alias],
            opts=pulumi.ResourceOptions(parent=self))
        # the alias as an output of the image: containers that use it wait until it points somewhere
        self.alias = cached.aliases.apply(lambda aliases: aliases[0] if aliases else image.alias)
        self.fingerprint = cached.fingerprint
        self.register_outputs({"alias": self.alias, "fingerprint": self.fingerprint})
