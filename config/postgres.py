"""`lxdha:postgres`: the PostgreSQL HA cluster (Patroni + etcd on every member, pgBackRest to S3) and the
HAProxy group in front of it, validated before anything is created.

Pure: takes the raw config mapping and returns settings or raises ConfigError naming the key and the
fix. Each setting is checked against what consumes it: Patroni's timing rule, the ports every member's
daemons hold, etcd's and PostgreSQL's names, pgBackRest's S3 (HTTPS only in 2.45), systemd's calendar.
Secret values are read by `postgres_secrets`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cluster.errors import ConfigError
from cluster.names import instance_name_problem
from config import vip_group
from config.checks import absolute_path_problem, s3_bucket_problem, url_problem, word_problem
from config.containers import SIZE, ansible_dir
from config.footprints import Footprint, vip_group_footprint
from config.haproxy import PLAYBOOK as HAPROXY_PLAYBOOK
from config.haproxy import STATS_PORT as HAPROXY_STATS_PORT
from config.section import Section, section_of
from config.vip_group import VipGroupSettings, network_settings, vip_group_settings

KEY = "lxdha:postgres"
PLAYBOOK = "postgres.yml"
# what the members and the HAProxy group install from the distribution (baked into the base image)
# python3-etcd by name: Patroni's etcd v3 client imports it, and Debian 13's patroni may be installed without it
PACKAGES = ("postgresql-15", "postgresql-client-15", "patroni", "python3-etcd", "etcd-server", "etcd-client",
            "pgbackrest")
HAPROXY_PACKAGES = ("haproxy", "keepalived")
KNOWN = ("allowMembersOverClusterMembers", "ansibleDir", "appDatabase", "appUser", "backup", "dataSize", "group",
         "haproxy", "members", "name", "network", "patroni", "pool", "port", "prefix", "restore", "strict",
         "synchronous", "tls", "appPasswordFile", "replicationPasswordFile", "restApiPasswordFile",
         "rewindPasswordFile", "superuserPasswordFile")
NETWORK_KNOWN = ("subnet", "dhcpRange")
PATRONI_KNOWN = ("ttlS", "loopWaitS", "retryTimeoutS")
PATRONI_MIN_TTL_S, PATRONI_MIN_RETRY_S = 20, 3
HAPROXY_KNOWN = (*vip_group.KNOWN, "writePort", "readPort", "statsPort")
BACKUP_KNOWN = ("s3", "retentionFull", "schedule")
BACKUP_S3_KNOWN = ("endpoint", "region", "bucket", "path", "caFile", "accessKeyFile", "secretKeyFile")
RESTORE_KNOWN = ("path", "stanza", "time")
TLS_KNOWN = ("cert", "certFile", "keyFile")
MAX_MEMBERS = 7

# TCP ports every database member's own daemons hold: sshd (Ansible), Patroni's REST API (health checks
# and switchovers), etcd's client and peer ports. PostgreSQL's port may be none of them.
SSH_PORT = 22
PATRONI_PORT = 8008
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
MEMBER_PORTS = {SSH_PORT: "sshd's (Ansible logs in on it)", PATRONI_PORT: "Patroni's REST API",
                ETCD_CLIENT_PORT: "etcd's client port", ETCD_PEER_PORT: "etcd's peer port"}
# PostgreSQL identifiers we create (role, database) and the Patroni scope: lowercase, so no quoting is needed
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# systemd.time(7) calendar events: keywords, or a DOW? DATE TIME form of digits, '*', ',', '-', '/', ':', '.'
CALENDAR = re.compile(r"^(minutely|hourly|daily|weekly|monthly|yearly|annually|quarterly|semiannually|"
                      r"([A-Za-z,.\-]+ )?[0-9*,/.\-]+ [0-9*,/:.]+)$")
MIN_DATA_BYTES = 1 << 30  # initdb, WAL (wal_keep_size 512MB) and a little data


@dataclass(frozen=True)
class PatroniTiming:
    ttl_s: int
    loop_wait_s: int
    retry_timeout_s: int


@dataclass(frozen=True)
class HaproxySettings:
    vip_group: VipGroupSettings
    write_port: int
    read_port: int
    stats_port: int


@dataclass(frozen=True)
class BackupSettings:
    endpoint: str  # https://host:port
    region: str
    bucket: str
    path: str  # this cluster's repository, e.g. /pg-prod
    ca_file: str | None
    retention_full: int
    schedule: str

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.endpoint).port or 443


@dataclass(frozen=True)
class RestoreSettings:
    path: str  # the source cluster's repository path in the same bucket
    stanza: str
    time: str  # "YYYY-MM-DD HH:MM:SS+00"


@dataclass(frozen=True)
class PostgresSettings:
    key: str  # where they come from, e.g. lxdha:postgres: messages and the HAProxy group's claim name its keys
    name: str  # the Patroni scope and pgBackRest stanza
    members: int
    prefix: str
    group: str
    allow_members_over_cluster_members: bool
    port: int
    subnet: str
    app_user: str
    app_database: str
    synchronous: bool
    strict: bool
    timing: PatroniTiming
    pool: str
    data_size: str
    ansible_dir: str
    haproxy: HaproxySettings
    backup: BackupSettings
    restore: RestoreSettings | None

    def names(self) -> list[str]:
        return [f"{self.prefix}-{index}" for index in range(self.members)]


def _section(parent: Section, field: str, known: tuple[str, ...], required: bool = False) -> Section:
    if required and parent.raw.get(field) is None:
        raise parent.fail(field, "is not set", f"set {parent.at(field)} ({', '.join(known)}); see docs/config.md "
                          "(postgres)")
    return parent.child(field, known)


def _identifier(postgres: Section, field: str, default: str, what: str) -> str:
    value = postgres.raw.get(field, default)
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise postgres.fail(field, f"{str(value)[:40]!r} is not a {what} name PostgreSQL takes unquoted",
                            "use lowercase letters, digits and '_', starting with a letter (at most 63)")
    return value


def _members(postgres: Section) -> int:
    members = postgres.raw.get("members", 3)
    if not isinstance(members, int) or isinstance(members, bool) or members < 3 or members % 2 == 0:
        raise postgres.fail("members", f"{members!r} is not an odd number of 3 or more: etcd and Patroni need a "
                            "majority that survives one member's loss", "use 3 (or 5)")
    if members > MAX_MEMBERS:
        raise postgres.fail("members", f"{members} is more than {MAX_MEMBERS}", "every member is a synchronous-"
                            "replication candidate and an etcd voter; use 3 or 5")
    return members


def _timing(postgres: Section) -> PatroniTiming:
    patroni = _section(postgres, "patroni", PATRONI_KNOWN)
    # Patroni's own floors (4.0, the version the role installs): below them it raises the value and logs it
    ttl = patroni.whole("ttlS", 20, PATRONI_MIN_TTL_S, 300,
                        f"use {PATRONI_MIN_TTL_S} or more: Patroni raises a shorter ttl to {PATRONI_MIN_TTL_S} s")
    loop_wait = patroni.whole("loopWaitS", 2, 1, 60, "use e.g. 2")
    retry = patroni.whole("retryTimeoutS", 3, PATRONI_MIN_RETRY_S, 120,
                          f"use {PATRONI_MIN_RETRY_S} or more: Patroni raises a shorter retry_timeout to "
                          f"{PATRONI_MIN_RETRY_S} s")
    if loop_wait + 2 * retry > ttl:
        raise patroni.fail("ttlS", f"{ttl} s is shorter than loopWaitS + 2 x retryTimeoutS ({loop_wait + 2 * retry} "
                           "s): a primary that loses etcd would still think itself primary when its lock expires and "
                           f"another member is promoted", f"raise ttlS to at least {loop_wait + 2 * retry}, or shorten "
                           "the others")
    return PatroniTiming(ttl, loop_wait, retry)


def _port(postgres: Section) -> int:
    port = postgres.whole("port", 5432, 1, 65535, "use PostgreSQL's port, e.g. 5432")
    if port in MEMBER_PORTS:
        raise postgres.fail("port", f"{port} is already in use on every member: it is {MEMBER_PORTS[port]}",
                            "use another port, e.g. 5432")
    if port < 1024:
        raise postgres.fail("port", f"{port} is a privileged port: PostgreSQL runs as the unprivileged user postgres",
                            "use a port from 1024 up, e.g. 5432")
    return port


def _haproxy(postgres: Section, network: dict[str, Any], prefix: str) -> HaproxySettings:
    section = _section(postgres, "haproxy", HAPROXY_KNOWN, required=True)
    merged = {"network": network, **section.raw}  # the database's network unless the group has its own
    group = vip_group_settings(merged, section.key, default_prefix=f"{prefix}-haproxy", default_vrid=60)
    if group.vrrp.version != 3 or "vrrpPasswordFile" in section.raw:
        raise section.fail("vrrpVersion", "the database's HAProxy group runs VRRPv3 (no password)",
                           "leave vrrpVersion unset (3) and drop vrrpPasswordFile")
    # haproxy binds its listeners as root before it drops to its own user: any port will do
    write = section.whole("writePort", 5432, 1, 65535, "use e.g. 5432")
    read = section.whole("readPort", 5433, 1, 65535, "use e.g. 5433")
    stats = section.whole("statsPort", HAPROXY_STATS_PORT, 1024, 65535, "use e.g. 8404")
    taken = {SSH_PORT: "sshd's", stats: "the stats and health listener's (haproxy.statsPort)"}
    for field, port in (("writePort", write), ("readPort", read)):
        if port in taken:
            raise section.fail(field, f"{port} is already in use on every HAProxy replica: it is {taken[port]}",
                               "use another port")
    if write == read:
        raise section.fail("readPort", f"{read} is also the write port", "give reads a port of their own, e.g. 5433")
    return HaproxySettings(group, write, read, stats)


def _backup(postgres: Section, name: str) -> BackupSettings:
    backup = _section(postgres, "backup", BACKUP_KNOWN, required=True)
    if not isinstance(backup.raw.get("s3"), dict):
        raise backup.fail("s3", "is not set", "set backup.s3.endpoint, bucket and the S3 keys")
    s3 = backup.child("s3", BACKUP_S3_KNOWN)
    endpoint = s3.raw.get("endpoint")
    problem = url_problem(endpoint, schemes=("https",), path_allowed=False)
    if problem:
        raise s3.fail("endpoint", problem, "pgBackRest 2.45 reaches S3 over HTTPS only: give https://host:port "
                      "(put TLS in front of a plain-HTTP S3 server)")
    bucket = s3.raw.get("bucket")
    problem = s3_bucket_problem(bucket) if bucket else "is not set"
    if problem:
        raise s3.fail("bucket", problem, "name the bucket that holds the backups, e.g. pgbackrest")
    region = str(s3.raw.get("region", "us-east-1"))
    if word_problem(region):
        raise s3.fail("region", word_problem(region) or "", "e.g. us-east-1")
    path = str(s3.raw.get("path", f"/{name}"))
    problem = absolute_path_problem(path)
    if problem:
        raise s3.fail("path", problem, f"give the repository's path in the bucket, e.g. /{name}")
    ca_file = s3.raw.get("caFile")
    if ca_file is not None and not Path(str(ca_file)).expanduser().is_file():
        raise s3.fail("caFile", f"{ca_file} is not a file", "point it at the CA (PEM) the S3 endpoint's certificate "
                      "is issued by, or leave it unset for the system CAs")
    retention = backup.whole("retentionFull", 2, 1, 100, "keep e.g. 2 full backups")
    schedule = str(backup.raw.get("schedule", "*-*-* 02:00:00"))
    if not CALENDAR.match(schedule):
        raise backup.fail("schedule", f"{schedule[:60]!r} is not a systemd calendar event",
                          "write it as systemd.time(7) does, e.g. '*-*-* 02:00:00' or daily")
    return BackupSettings(str(endpoint).rstrip("/"), region, str(bucket), path,
                          str(Path(str(ca_file)).expanduser()) if ca_file else None, retention, schedule)


def parse_restore_time(value: str) -> datetime.datetime | None:
    """The restore target as pgBackRest takes it (`YYYY-MM-DD HH:MM:SS+00`), or None when it is not one."""
    zoned = value + "00" if re.search(r"[+-]\d\d$", value) else value  # +00 as PostgreSQL writes it: +0000
    try:
        return datetime.datetime.strptime(zoned, "%Y-%m-%d %H:%M:%S%z")
    except ValueError:
        return None


def _restore(postgres: Section, backup: BackupSettings, name: str) -> RestoreSettings | None:
    restore = _section(postgres, "restore", RESTORE_KNOWN)
    if not restore.raw:
        return None
    path = str(restore.raw.get("path", ""))
    problem = absolute_path_problem(path) if path else "is not set"
    if problem:
        raise restore.fail("path", problem, "give the repository path of the cluster to restore, e.g. /pg-old")
    if path == backup.path:
        raise restore.fail("path", f"{path} is also this cluster's own backup.s3.path: the restored cluster would "
                           "archive over the backups it restores from", "give the new cluster a backup.s3.path of "
                           "its own")
    stanza = str(restore.raw.get("stanza", name))
    if not IDENTIFIER.match(stanza):
        raise restore.fail("stanza", f"{stanza[:40]!r} is not a stanza name", "the source cluster's name")
    moment = str(restore.raw.get("time", ""))
    parsed = parse_restore_time(moment)
    if parsed is None:
        raise restore.fail("time", f"{moment[:40]!r} is not a point in time with its zone",
                           "write it as 'YYYY-MM-DD HH:MM:SS+00', e.g. '2026-12-06 01:00:00+00'")
    if parsed > datetime.datetime.now(datetime.UTC):
        raise restore.fail("time", f"{moment} is in the future", "give a time the backups cover")
    return RestoreSettings(path, stanza, moment)


def _data_size(postgres: Section) -> str:
    size = str(postgres.raw.get("dataSize", "4GiB"))
    if not SIZE.match(size):
        raise postgres.fail("dataSize", f"{size[:20]!r} is not a size LXD takes", "write it like 4GiB or 500GB")
    number, unit = int(size.rstrip("BGMTi")), size.lstrip("0123456789")
    factor = {"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "MB": 10**6, "GB": 10**9, "TB": 10**12}[unit]
    if number * factor < MIN_DATA_BYTES:
        raise postgres.fail("dataSize", f"{size} is too small for a PostgreSQL data directory and its WAL",
                            "give each member at least 1GiB")
    return size


def postgres_settings(raw: dict[str, Any], key: str = KEY) -> PostgresSettings:
    """Settings from the raw database section at `key` (the stack's `lxdha:postgres`, or a component's
    inputs), or a ConfigError naming the bad key."""
    postgres = section_of(raw, key, KNOWN, "see docs/config.md (postgres)")
    postgres.section("tls", TLS_KNOWN)  # read with the secrets; its keys are checked here
    name = _identifier(postgres, "name", "pg", "cluster")
    members = _members(postgres)
    prefix = str(raw.get("prefix", name.replace("_", "-")))
    problem = instance_name_problem(f"{prefix}-{members - 1}")
    if problem:
        raise postgres.fail("prefix", problem, "use a short prefix of letters, digits and '-'")
    group = str(raw.get("group", prefix))
    if instance_name_problem(group):
        raise postgres.fail("group", f"{group!r} is not a valid group name", "use letters, digits and '-'")
    network = _section(postgres, "network", NETWORK_KNOWN, required=True).raw
    subnet = str(network_settings(raw, key).subnet)
    playbooks = ansible_dir(postgres, PLAYBOOK, HAPROXY_PLAYBOOK)
    pool = str(raw.get("pool", "default"))
    if instance_name_problem(pool):
        raise postgres.fail("pool", f"{pool!r} is not a storage pool name", "name an LXD storage pool, e.g. default")
    backup = _backup(postgres, name)
    return PostgresSettings(
        key=key, name=name, members=members, prefix=prefix, group=group,
        allow_members_over_cluster_members=postgres.flag("allowMembersOverClusterMembers", False),
        port=_port(postgres), subnet=subnet, app_user=_identifier(postgres, "appUser", "app", "role"),
        app_database=_identifier(postgres, "appDatabase", "app", "database"),
        synchronous=postgres.flag("synchronous", True), strict=postgres.flag("strict", False),
        timing=_timing(postgres), pool=pool, data_size=_data_size(postgres), ansible_dir=playbooks,
        haproxy=_haproxy(postgres, network, prefix), backup=backup, restore=_restore(postgres, backup, name))


def check_distro(distro: str, key: str = KEY, distro_setting: str = "lxdha:image.distro") -> None:
    """The members and the HAProxy group install Debian 12's packages (PACKAGES, Patroni 3.0.3 or later from
    Debian 13): no other distribution ships etcd 3.4 and pgBackRest 2.45 as the roles expect them."""
    if distro != "debian":
        raise ConfigError(key, f"needs a Debian image, and {distro_setting} is {distro}",
                          f"give {key} a Debian 12 image (distro: debian) with a Debian mirror")


def postgres_endpoints(settings: PostgresSettings) -> dict[str, str]:
    """The database's own endpoints (setting -> host), which its VIP must not be."""
    return {f"{settings.key}.backup.s3.endpoint": settings.backup.host}


def postgres_footprints(settings: PostgresSettings) -> list[Footprint]:
    """What the database takes in the cluster: its members, and its HAProxy group behind the VIP."""
    return [Footprint(settings.key, tuple(settings.names()), settings.group),
            vip_group_footprint(settings.haproxy.vip_group)]


def postgres_packages() -> tuple[str, ...]:
    """The distribution packages the members and the HAProxy group need (what a baked image carries)."""
    return (*PACKAGES, *HAPROXY_PACKAGES)
