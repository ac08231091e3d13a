"""AlpineImageAlias: a base image cached in the cluster plus a stable alias (e.g. alpine/stable).

The name is kept from the original design; it works for any distro. Containers refer to the alias,
so pointing it at a newer image (a new `source`) never rebuilds them: the new lxd.CachedImage takes
the alias over, the old one is deleted without touching it.
"""

from dataclasses import dataclass

import pulumi
import pulumi_lxd as lxd

from config.site import ImageSource


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
