"""Replicas behind one keepalived VIP, the one mechanism every such service uses (the registry, an
HAProxy group): the service's claim on its VIP and VRID first, then N BalancedContainers in one
anti-affinity group, each configured by the service's playbook with the keepalived settings and its
peers' addresses. The playbooks of one group are set up together and updated one replica at a time
(provisioners/rolling_gate.py), so a change rolls through while the others keep the VIP up.

The children belong to the calling component (its URNs stay as they were before this was shared).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from components.balanced_container import BalancedContainer, BalancedContainerArgs, PlaybookSpec
from config.site import AccessConfig
from config.vip_group import VipGroupSettings, VrrpSettings
from provisioners.address_claims import ClaimRequest
from provisioners.claim_provider import AddressClaim

RoleVars = Callable[[dict[str, Any], str, list[str]], dict[str, Any]]  # (shared values, own address, peers) -> vars


@dataclass
class ServiceImage:
    alias: pulumi.Input[str]
    distro: str
    baked: bool = False


def keepalived_vars(vrrp: VrrpSettings, self_address: str, peers: list[str], password: str = "") -> dict[str, Any]:
    """The keepalived role's variables for one replica."""
    return {
        "keepalived_vip": vrrp.vip,
        "keepalived_prefix_len": vrrp.prefix_len,
        "keepalived_vrid": vrrp.vrid,
        "keepalived_advert_interval_s": vrrp.advert_interval_s,
        "keepalived_vrrp_version": vrrp.version,
        "keepalived_auth_pass": password,
        "keepalived_self_address": self_address,
        "keepalived_peers": sorted(peers),
    }


def claim_request(group: VipGroupSettings, service: str) -> ClaimRequest:
    """The stack's claim on the group's VIP and VRID (the replicas are the ones allowed to carry the VIP)."""
    names = group.names()
    return ClaimRequest(owner=f"{pulumi.get_project()}/{pulumi.get_stack()}",
                        service=f"{service} {names[0]}..{names[-1]}", vip=group.vrrp.vip, subnet=group.vrrp.subnet,
                        vrid=group.vrrp.vrid, replicas=tuple(names), setting=group.key)


def _after(resource: pulumi.Resource) -> pulumi.ResourceTransformation:
    """Makes a component and every resource inside it wait for `resource` (children do not inherit
    depends_on, but they do inherit transformations)."""
    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=[resource])))
    return transform


def vip_replicas(owner: pulumi.ComponentResource, resource_name: str, group: VipGroupSettings, service: str,
                 image: ServiceImage, access: AccessConfig, ansible_dir: str, playbook: str,
                 shared: pulumi.Input[dict[str, Any]], role_vars: RoleVars) -> list[BalancedContainer]:
    """The group's replicas, each configured by `playbook` with `role_vars(shared, own address, peers)` and
    the keepalived settings (the VRRP password, if any, is `shared["vrrp_password"]`). `shared` may hold
    secrets: every replica's variables are kept secret."""
    claim = AddressClaim(f"{resource_name}-address-claim", claim_request(group, service),
                         opts=pulumi.ResourceOptions(parent=owner))
    replica_opts = pulumi.ResourceOptions(parent=owner, transformations=[_after(claim)])
    replicas = [
        BalancedContainer(name, BalancedContainerArgs(
            name=name, image=image.alias, distro=image.distro, access=access, group=group.group, baked=image.baked,
            group_size=group.replicas, allow_group_overcommit=group.allow_replicas_over_members,
            overcommit_setting=group.setting("allowReplicasOverMembers")),
            opts=replica_opts)
        for name in group.names()
    ]
    peers = pulumi.Output.all(*[replica.ipv4 for replica in replicas])
    for replica in replicas:  # rolling: updated one at a time, set up together (rolling_gate)
        extra_vars = pulumi.Output.secret(pulumi.Output.all(shared, replica.ipv4, peers).apply(
            lambda values: {**role_vars(values[0], values[1], list(values[2])),
                            **keepalived_vars(group.vrrp, values[1], list(values[2]),
                                              values[0].get("vrrp_password") or ""),
                            "lxdha_distro": image.distro}))
        replica.configure(PlaybookSpec(ansible_dir, playbook, extra_vars), rolling_group=resource_name)
    return replicas
