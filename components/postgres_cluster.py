"""PostgresCluster: an odd number of PostgreSQL members on different cluster members, each run by Patroni
with etcd beside it, synchronous replication on (an acknowledged commit is on two members), the data
on each member's own LXD volume, WAL archived and backups taken to S3 by pgBackRest; and an HAProxy
group whose VIP routes writes to whichever member Patroni reports primary, reads to the replicas.

etcd runs on the database members themselves: its majority spans the same cluster members as the
database's, so a member lost costs both one vote, and no extra containers need placing and rolling.
Members are stopped in place during maintenance (`cluster.evacuate=stop`: their volumes are local), never
migrated; the operations commands ask Patroni for a switchover before a primary's member goes down.
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from cluster.facts import STATEFUL_KEY
from components.balanced_container import BalancedContainer, BalancedContainerArgs, PlaybookSpec
from components.haproxy_group import HAProxyGroup, HAProxyGroupArgs
from components.vip_replicas import ServiceImage
from config.containers import DataVolume
from config.haproxy import Backend, Frontend, HealthCheck
from config.postgres import KEY, PATRONI_PORT, PLAYBOOK, PostgresSettings
from config.postgres_secrets import PostgresSecrets
from config.site import AccessConfig
from provisioners.patroni_roles import PatroniRoles

DATA_PATH = "/var/lib/postgresql/15"
STATEFUL_KIND = "postgres"


@dataclass
class PostgresClusterArgs:
    settings: PostgresSettings
    secrets: PostgresSecrets
    image: ServiceImage
    access: AccessConfig


def member_vars(settings: PostgresSettings, secrets: dict[str, str], self_address: str,
                members: list[dict[str, str]]) -> dict[str, Any]:
    """The etcd and postgres roles' variables for one member (plain values; the caller keeps them secret)."""
    backup, timing, restore = settings.backup, settings.timing, settings.restore
    return {
        "etcd_self_address": self_address,
        "etcd_members": members,
        "etcd_cluster_token": f"lxdha-{settings.name}",
        "pg_scope": settings.name,
        "pg_port": settings.port,
        "pg_rest_port": PATRONI_PORT,
        "pg_self_address": self_address,
        "pg_members": members,
        "pg_subnet": settings.subnet,
        "pg_data_mount": DATA_PATH,
        "pg_superuser_password": secrets["superuser"],
        "pg_replication_password": secrets["replication"],
        "pg_rewind_password": secrets["rewind"],
        "pg_rest_password": secrets["rest_api"],
        "pg_app_user": settings.app_user,
        "pg_app_password": secrets["app"],
        "pg_app_database": settings.app_database,
        "pg_tls_cert": secrets["tls_cert"],
        "pg_tls_key": secrets["tls_key"],
        "pg_synchronous": settings.synchronous,
        "pg_synchronous_strict": settings.strict,
        "pg_ttl_s": timing.ttl_s,
        "pg_loop_wait_s": timing.loop_wait_s,
        "pg_retry_timeout_s": timing.retry_timeout_s,
        "pg_backup_s3_host": backup.host,
        "pg_backup_s3_port": backup.port,
        "pg_backup_s3_bucket": backup.bucket,
        "pg_backup_s3_region": backup.region,
        "pg_backup_s3_path": backup.path,
        "pg_backup_s3_ca": secrets["s3_ca"],
        "pg_backup_s3_access_key": secrets["s3_access_key"],
        "pg_backup_s3_secret_key": secrets["s3_secret_key"],
        "pg_backup_retention_full": backup.retention_full,
        "pg_backup_schedule": backup.schedule,
        "pg_restore_path": restore.path if restore else "",
        "pg_restore_stanza": restore.stanza if restore else "",
        "pg_restore_time": restore.time if restore else "",
    }


def _servers(members: list[BalancedContainer], port: int) -> pulumi.Output[list[dict[str, Any]]]:
    return pulumi.Output.all(*[pulumi.Output.all(m.name, m.ipv4) for m in members]).apply(
        lambda pairs: [{"name": name, "address": address, "port": port} for name, address in pairs])


class PostgresCluster(pulumi.ComponentResource):
    write_endpoint: pulumi.Output[str]
    read_endpoint: pulumi.Output[str]
    roles: pulumi.Output[dict[str, str]]  # as Patroni reported them at the last up or refresh

    def __init__(self, resource_name: str, args: PostgresClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lxdha:index:PostgresCluster", resource_name, {}, opts)
        settings, secrets, image = args.settings, args.secrets, args.image
        child = pulumi.ResourceOptions(parent=self)
        self.members: list[BalancedContainer] = [
            BalancedContainer(name, BalancedContainerArgs(
                name=name, image=image.alias, distro=image.distro, access=args.access, group=settings.group,
                baked=image.baked, group_size=settings.members,
                allow_group_overcommit=settings.allow_members_over_cluster_members,
                overcommit_setting=f"{KEY}.allowMembersOverClusterMembers",
                config={"cluster.evacuate": "stop", STATEFUL_KEY: STATEFUL_KIND},
                volumes=[DataVolume("data", settings.pool, settings.data_size, DATA_PATH)]), opts=child)
            for name in settings.names()
        ]
        shared = pulumi.Output.all(
            superuser=secrets.superuser_password, replication=secrets.replication_password,
            rewind=secrets.rewind_password, rest_api=secrets.rest_api_password, app=secrets.app_password,
            tls_cert=secrets.tls_cert, tls_key=secrets.tls_key, s3_access_key=secrets.s3_access_key,
            s3_secret_key=secrets.s3_secret_key, s3_ca=secrets.s3_ca)
        roster = pulumi.Output.all(*[pulumi.Output.all(m.name, m.ipv4) for m in self.members]).apply(
            lambda pairs: [{"name": name, "address": address} for name, address in pairs])
        configured = []
        for member in self.members:  # set up together (etcd forms its cluster), updated one at a time
            extra_vars = pulumi.Output.secret(pulumi.Output.all(shared, member.ipv4, roster).apply(
                lambda values: {**member_vars(settings, values[0], values[1], values[2]),
                                "lxdha_distro": image.distro}))
            configured.append(member.configure(PlaybookSpec(settings.ansible_dir, PLAYBOOK, extra_vars),
                                               rolling_group=resource_name))
        self.roles = PatroniRoles(f"{resource_name}-roles", settings.name, roster.apply(
            lambda pairs: {pair["name"]: pair["address"] for pair in pairs}), PATRONI_PORT, settings.synchronous,
            opts=pulumi.ResourceOptions(parent=self, depends_on=configured)).roles
        haproxy = settings.haproxy
        # Patroni's view every 0.5 s: a new primary takes writes within half a second of its promotion
        write_check = HealthCheck("http", "/primary", PATRONI_PORT, 200, interval_ms=500)
        read_check = HealthCheck("http", "/replica", PATRONI_PORT, 200, interval_ms=500)
        self.haproxy: HAProxyGroup = HAProxyGroup(f"{resource_name}-haproxy", HAProxyGroupArgs(
            vip_group=haproxy.vip_group,
            frontends=[Frontend("pg_write", haproxy.write_port, "pg_primary"),
                       Frontend("pg_read", haproxy.read_port, "pg_replicas")],
            backends=[Backend("pg_primary", _servers(self.members, settings.port), balance="first", check=write_check,
                              fail_fast=True),
                      Backend("pg_replicas", _servers(self.members, settings.port), check=read_check)],
            image=image, access=args.access, ansible_dir=settings.ansible_dir, stats_port=haproxy.stats_port),
            opts=child)
        vip = haproxy.vip_group.vrrp.vip
        self.write_endpoint = pulumi.Output.from_input(f"{vip}:{haproxy.write_port}")
        self.read_endpoint = pulumi.Output.from_input(f"{vip}:{haproxy.read_port}")
        self.register_outputs({"write_endpoint": self.write_endpoint, "read_endpoint": self.read_endpoint,
                               "roles": self.roles})
