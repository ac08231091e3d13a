"""HAProxyGroup: N HAProxy containers on different members sharing a keepalived VIP, the seed's network
function as a component of its own. Frontends and backends are data (TCP or HTTP, health checks by
connect or by an HTTP endpoint on a port of the backend's own); keepalived follows the local haproxy's
health, so a replica whose haproxy is down gives the VIP up. A config change rolls through the replicas
one at a time and is applied by a reload (master-worker: established connections stay).
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from components.balanced_container import BalancedContainer
from components.vip_replicas import ServiceImage, vip_replicas
from config.haproxy import PLAYBOOK as HAPROXY_PLAYBOOK
from config.haproxy import Backend, Frontend
from config.site import AccessConfig
from config.vip_group import VipGroupSettings


@dataclass
class HAProxyGroupArgs:
    vip_group: VipGroupSettings
    frontends: list[Frontend]
    backends: list[Backend]
    image: ServiceImage
    access: AccessConfig
    ansible_dir: str
    stats_port: int = 8404
    vrrp_password: pulumi.Input[str] | None = None


def role_vars(args: HAProxyGroupArgs, servers: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The haproxy role's variables: the frontends and backends as data (servers resolved)."""
    return {
        "haproxy_frontends": [{"name": f.name, "port": f.port, "backend": f.backend, "mode": f.mode}
                              for f in args.frontends],
        "haproxy_backends": [{"name": b.name, "mode": b.mode, "balance": b.balance, "servers": resolved,
                              "fail_fast": b.fail_fast,
                              "check": {"kind": b.check.kind, "path": b.check.path, "port": b.check.port,
                                        "expect_status": b.check.expect_status, "interval_ms": b.check.interval_ms}}
                             for b, resolved in zip(args.backends, servers, strict=True)],
        "haproxy_stats_port": args.stats_port,
        # keepalived gives the VIP up on a replica whose haproxy does not answer its own /health
        "keepalived_check_url": f"http://127.0.0.1:{args.stats_port}/health",
        "keepalived_instance": "haproxy",
    }


class HAProxyGroup(pulumi.ComponentResource):
    vip: pulumi.Output[str]

    def __init__(self, resource_name: str, args: HAProxyGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:HAProxyGroup", resource_name, {}, opts)
        shared = pulumi.Output.all(servers=[backend.servers for backend in args.backends],
                                   vrrp_password=args.vrrp_password or "")
        self.replicas: list[BalancedContainer] = vip_replicas(
            self, resource_name, args.vip_group, "haproxy", args.image, args.access, args.ansible_dir,
            HAPROXY_PLAYBOOK, shared, lambda values, _address, _peers: role_vars(args, values["servers"]))
        self.vip = pulumi.Output.from_input(args.vip_group.vrrp.vip)
        self.register_outputs({"vip": self.vip})
