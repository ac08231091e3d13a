"""AlpineImageAlias: a base image cached in the cluster plus a stable alias (e.g. alpine/stable).

The name is kept from the original design; it works for any distro. Containers refer to the
alias, so re-pointing it to a newer image never rebuilds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from provisioners.image_provider import ImageAlias


@dataclass(frozen=True)
class ImageSource:
    remote_url: str  # e.g. https://images.linuxcontainers.org (prod) or the lab's image remote
    protocol: str  # "simplestreams" or "lxd"
    source: str  # alias on the remote, e.g. alpine/3.11
    alias: str  # the stable local alias, e.g. alpine/stable
    distro: str  # how containers from it are bootstrapped: "alpine" or "debian"
    remote_certificate: str = ""  # PEM that pins an LXD-protocol image server


class AlpineImageAlias(pulumi.ComponentResource):
    alias: pulumi.Output[str]
    fingerprint: pulumi.Output[str]

    def __init__(self, name: str, connection: pulumi.Input[dict], image: ImageSource,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:AlpineImageAlias", name, {}, opts)
        self.distro = image.distro
        cached = ImageAlias(
            f"{name}-image",
            {
                "connection": pulumi.Output.secret(connection),
                "remote_url": image.remote_url,
                "remote_protocol": image.protocol,
                "remote_certificate": image.remote_certificate,
                "source": image.source,
                "alias": image.alias,
                "owner": f"{pulumi.get_project()}/{pulumi.get_stack()}",
            },
            pulumi.ResourceOptions(parent=self),
        )
        self.alias = cached.alias
        self.fingerprint = cached.fingerprint
        self.register_outputs({"alias": self.alias, "fingerprint": self.fingerprint})
