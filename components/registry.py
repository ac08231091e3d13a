"""HARegistry: N registry replicas on different members sharing a keepalived VIP, blobs in S3.

Replicas are BalancedContainers of one anti-affinity group. Each is configured by the `registry`
playbook (registry + keepalived roles) with the peers' addresses, so the configure steps wait for
every replica to exist; they are chained one after another, so a role or config change rolls
through the replicas one at a time while the others keep the VIP up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.balanced_container import BalancedContainer, BalancedContainerArgs, PlaybookSpec
from config.registry import PLAYBOOK, RegistrySettings
from config.registry_secrets import RegistrySecrets
from config.site import AccessConfig
from provisioners.address_claims import ClaimRequest
from provisioners.claim_provider import AddressClaim
from provisioners.random_secret import RandomSecret


@dataclass
class RegistryImage:
    alias: pulumi.Input[str]
    distro: str
    baked: bool = False


def playbook_vars(settings: RegistrySettings, secrets: dict[str, str], self_address: str,
                  peers: list[str], distro: str = "debian") -> dict[str, Any]:
    """Extra vars for one replica (plain values; the caller keeps them secret)."""
    vrrp = settings.vrrp
    return {
        "lxdha_distro": distro,
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
        "keepalived_vip": vrrp.vip,
        "keepalived_prefix_len": vrrp.prefix_len,
        "keepalived_vrid": vrrp.vrid,
        "keepalived_advert_interval_s": vrrp.advert_interval_s,
        "keepalived_vrrp_version": vrrp.version,
        "keepalived_auth_pass": secrets.get("vrrp_password") or "",
        "keepalived_self_address": self_address,
        "keepalived_peers": sorted(peers),
    }


def claim_request(settings: RegistrySettings) -> ClaimRequest:
    """This stack's claim on the VIP and the VRID (the replicas are the ones allowed to carry the VIP)."""
    names = settings.names()
    return ClaimRequest(owner=f"{pulumi.get_project()}/{pulumi.get_stack()}",
                        service=f"registry {names[0]}..{names[-1]}", vip=settings.vrrp.vip,
                        subnet=settings.vrrp.subnet, vrid=settings.vrrp.vrid, replicas=tuple(names))


def _after(resource: pulumi.Resource) -> pulumi.ResourceTransformation:
    """Makes a component and every resource inside it wait for `resource` (children do not inherit
    depends_on, but they do inherit transformations)."""
    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=[resource])))
    return transform


@dataclass
class HARegistryArgs:
    settings: RegistrySettings
    secrets: RegistrySecrets
    image: RegistryImage
    access: AccessConfig


class HARegistry(pulumi.ComponentResource):
    url: pulumi.Output[str]
    vip: pulumi.Output[str]
    replicas: list[BalancedContainer]

    def __init__(self, resource_name: str, args: HARegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:HARegistry", resource_name, {}, opts)
        settings, secrets, image, access = args.settings, args.secrets, args.image, args.access
        child = pulumi.ResourceOptions(parent=self)
        http_secret = secrets.http_secret or RandomSecret(f"{resource_name}-http-secret", opts=child).value
        claim = AddressClaim(f"{resource_name}-address-claim", claim_request(settings), opts=child)
        replica_opts = pulumi.ResourceOptions(parent=self, transformations=[_after(claim)])
        self.replicas = [
            BalancedContainer(name, BalancedContainerArgs(
                name=name, image=image.alias, distro=image.distro, access=access, group=settings.group,
                baked=image.baked,
                group_size=settings.replicas, allow_group_overcommit=settings.allow_replicas_over_members),
                opts=replica_opts)
            for name in settings.names()
        ]
        shared = pulumi.Output.all(
            http_secret=http_secret, htpasswd=secrets.htpasswd, tls_cert=secrets.tls_cert, tls_key=secrets.tls_key,
            s3_access_key=secrets.s3_access_key, s3_secret_key=secrets.s3_secret_key,
            vrrp_password=secrets.vrrp_password or "")
        peers = pulumi.Output.all(*[replica.ipv4 for replica in self.replicas])
        for replica in self.replicas:  # rolling: updated one at a time, set up together (rolling_gate)
            extra_vars = pulumi.Output.secret(pulumi.Output.all(shared, replica.ipv4, peers).apply(
                lambda values: playbook_vars(settings, values[0], values[1], list(values[2]), image.distro)))
            replica.configure(PlaybookSpec(settings.ansible_dir, PLAYBOOK, extra_vars), rolling_group=resource_name)
        self.vip = pulumi.Output.from_input(settings.vrrp.vip)
        self.url = pulumi.Output.from_input(f"https://{settings.vrrp.vip}:{settings.port}")
        self.register_outputs({"url": self.url, "vip": self.vip})
