"""HARegistry: N registry replicas on different members sharing a keepalived VIP, blobs in S3.

Replicas are BalancedContainers of one anti-affinity group. Each is configured by the `registry`
playbook (registry + keepalived roles) with the peers' addresses, so the configure steps wait for
every replica to exist; they are chained one after another, so a role or config change rolls
through the replicas one at a time while the others keep the VIP up.
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from components.balanced_container import BalancedContainer
from components.vip_replicas import ServiceImage, vip_replicas
from config.registry import PLAYBOOK, RegistrySettings
from config.registry_secrets import RegistrySecrets
from config.site import AccessConfig
from provisioners.random_secret import RandomSecret


def playbook_vars(settings: RegistrySettings, secrets: dict[str, str]) -> dict[str, Any]:
    """The registry role's variables (plain values; the caller keeps them secret)."""
    return {
        "registry_source": settings.server.source,
        "registry_version": settings.server.version,
        "registry_sha256": settings.server.sha256,
        "registry_url": settings.server.url,
        "registry_port": settings.port,
        "registry_http_secret": secrets["http_secret"],
        "registry_htpasswd": secrets["htpasswd"],
        "registry_tls_cert": secrets["tls_cert"],
        "registry_tls_key": secrets["tls_key"],
        "registry_s3_endpoint": settings.s3.endpoint,
        "registry_s3_region": settings.s3.region,
        "registry_s3_bucket": settings.s3.bucket,
        "registry_s3_root_directory": settings.s3.root_directory,
        "registry_s3_access_key": secrets["s3_access_key"],
        "registry_s3_secret_key": secrets["s3_secret_key"],
    }


@dataclass
class HARegistryArgs:
    settings: RegistrySettings
    secrets: RegistrySecrets
    image: ServiceImage
    access: AccessConfig


class HARegistry(pulumi.ComponentResource):
    url: pulumi.Output[str]
    vip: pulumi.Output[str]

    def __init__(self, resource_name: str, args: HARegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:HARegistry", resource_name, {}, opts)
        settings, secrets = args.settings, args.secrets
        http_secret = secrets.http_secret or RandomSecret(f"{resource_name}-http-secret",
                                                          opts=pulumi.ResourceOptions(parent=self)).value
        shared = pulumi.Output.all(
            http_secret=http_secret, htpasswd=secrets.htpasswd, tls_cert=secrets.tls_cert, tls_key=secrets.tls_key,
            s3_access_key=secrets.s3_access_key, s3_secret_key=secrets.s3_secret_key,
            vrrp_password=secrets.vrrp_password or "")
        self.replicas: list[BalancedContainer] = vip_replicas(
            self, resource_name, settings.vip_group, "registry", args.image, args.access, settings.ansible_dir,
            PLAYBOOK, shared, lambda values, _address, _peers: playbook_vars(settings, values))
        self.vip = pulumi.Output.from_input(settings.vrrp.vip)
        self.url = pulumi.Output.from_input(f"https://{settings.vrrp.vip}:{settings.port}")
        self.register_outputs({"url": self.url, "vip": self.vip})
