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
from config.checks import absolute_path_problem, check_known_keys, s3_bucket_problem, url_problem, word_problem
from config.containers import DEFAULT_ANSIBLE_DIR
from config.footprints import Footprint, vip_group_footprint
from config.vip_group import VipGroupSettings, network_settings, vip_group_settings

KEY = "lxdha:postgres"
HAPROXY_KEY = f"{KEY}.haproxy"
PLAYBOOK = "postgres.yml"
HAPROXY_PLAYBOOK = "haproxy.yml"
# what the members and the HAProxy group install from the distribution (baked into the base image)
PACKAGES = ("postgresql-15", "postgresql-client-15", "patroni", "etcd-server", "etcd-client", "pgbackrest")
HAPROXY_PACKAGES = ("haproxy", "keepalived")
KNOWN = ("allowMembersOverClusterMembers", "ansibleDir", "appDatabase", "appUser", "backup", "dataSize", "group",
         "haproxy", "members", "name", "network", "patroni", "pool", "port", "prefix", "restore", "strict",
         "synchronous", "tls", "appPasswordFile", "replicationPasswordFile", "restApiPasswordFile",
         "rewindPasswordFile", "superuserPasswordFile")
NETWORK_KNOWN = ("subnet", "dhcpRange")
PATRONI_KNOWN = ("ttlS", "loopWaitS", "retryTimeoutS")
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
HAPROXY_STATS_PORT = 8404  # the HAProxy replicas' stats and health listener (loopback)
# PostgreSQL identifiers we create (role, database) and the Patroni scope: lowercase, so no quoting is needed
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# systemd.time(7) calendar events: keywords, or a DOW? DATE TIME form of digits, '*', ',', '-', '/', ':', '.'
CALENDAR = re.compile(r"^(minutely|hourly|daily|weekly|monthly|yearly|annually|quarterly|semiannually|"
                      r"([A-Za-z,.\-]+ )?[0-9*,/.\-]+ [0-9*,/:.]+)$")
SIZE = re.compile(r"^[1-9][0-9]*(MiB|GiB|TiB|MB|GB|TB)$")
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


def _fail(field: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{KEY}.{field}", problem, fix)


def _section(raw: dict[str, Any], field: str, known: tuple[str, ...], required: bool = False) -> dict[str, Any]:
    section = raw.get(field)
    if section is None:
        if required:
            raise _fail(field, "is not set", f"set {KEY}.{field} ({', '.join(known)}); see docs/config.md (postgres)")
        return {}
    if not isinstance(section, dict):
        raise _fail(field, f"{str(section)[:60]!r} is not a mapping", f"write it as {{{', '.join(known)}}}")
    check_known_keys(section, known, f"{KEY}.{field}")
    return section


def _whole(raw: dict[str, Any], field: str, default: int, low: int, high: int, fix: str, where: str = "") -> int:
    value = raw.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(f"{where}{field}", f"{value!r} is not a whole number from {low} to {high}", fix)
    return value


def _flag(raw: dict[str, Any], field: str, default: bool) -> bool:
    value = raw.get(field, default)
    if not isinstance(value, bool):
        raise _fail(field, f"{value!r} is not true/false", "set true or false")
    return value


def _identifier(raw: dict[str, Any], field: str, default: str, what: str) -> str:
    value = raw.get(field, default)
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise _fail(field, f"{str(value)[:40]!r} is not a {what} name PostgreSQL takes unquoted",
                    "use lowercase letters, digits and '_', starting with a letter (at most 63)")
    return value


def _members(raw: dict[str, Any]) -> int:
    members = raw.get("members", 3)
    if not isinstance(members, int) or isinstance(members, bool) or members < 3 or members % 2 == 0:
        raise _fail("members", f"{members!r} is not an odd number of 3 or more: etcd and Patroni need a majority "
                    "that survives one member's loss", "use 3 (or 5)")
    if members > MAX_MEMBERS:
        raise _fail("members", f"{members} is more than {MAX_MEMBERS}", "every member is a synchronous-replication "
                    "candidate and an etcd voter; use 3 or 5")
    return members


def _timing(raw: dict[str, Any]) -> PatroniTiming:
    patroni = _section(raw, "patroni", PATRONI_KNOWN)
    ttl = _whole(patroni, "ttlS", 10, 4, 300, "use e.g. 10", where="patroni.")
    loop_wait = _whole(patroni, "loopWaitS", 2, 1, 60, "use e.g. 2", where="patroni.")
    retry = _whole(patroni, "retryTimeoutS", 3, 1, 120, "use e.g. 3", where="patroni.")
    if loop_wait + 2 * retry > ttl:
        raise _fail("patroni.ttlS", f"{ttl} s is shorter than loopWaitS + 2 x retryTimeoutS ({loop_wait + 2 * retry} "
                    "s): a primary that loses etcd would still think itself primary when its lock expires and "
                    "another member is promoted", f"raise ttlS to at least {loop_wait + 2 * retry}, or shorten the "
                    "others")
    return PatroniTiming(ttl, loop_wait, retry)


def _port(raw: dict[str, Any]) -> int:
    port = _whole(raw, "port", 5432, 1, 65535, "use PostgreSQL's port, e.g. 5432")
    if port in MEMBER_PORTS:
        raise _fail("port", f"{port} is already in use on every member: it is {MEMBER_PORTS[port]}",
                    "use another port, e.g. 5432")
    if port < 1024:
        raise _fail("port", f"{port} is a privileged port: PostgreSQL runs as the unprivileged user postgres",
                    "use a port from 1024 up, e.g. 5432")
    return port


def _haproxy(raw: dict[str, Any], network: dict[str, Any], prefix: str) -> HaproxySettings:
    section = _section(raw, "haproxy", HAPROXY_KNOWN, required=True)
    merged = {"network": network, **section}  # the database's network unless the group has its own
    group = vip_group_settings(merged, HAPROXY_KEY, default_prefix=f"{prefix}-haproxy", default_vrid=60)
    if group.vrrp.version != 3 or "vrrpPasswordFile" in section:
        raise _fail("haproxy.vrrpVersion", "the database's HAProxy group runs VRRPv3 (no password)",
                    "leave vrrpVersion unset (3) and drop vrrpPasswordFile")
    # haproxy binds its listeners as root before it drops to its own user: any port will do
    write = _whole(section, "writePort", 5432, 1, 65535, "use e.g. 5432", where="haproxy.")
    read = _whole(section, "readPort", 5433, 1, 65535, "use e.g. 5433", where="haproxy.")
    stats = _whole(section, "statsPort", HAPROXY_STATS_PORT, 1024, 65535, "use e.g. 8404", where="haproxy.")
    taken = {SSH_PORT: "sshd's", stats: "the stats and health listener's (haproxy.statsPort)"}
    for field, port in (("writePort", write), ("readPort", read)):
        if port in taken:
            raise _fail(f"haproxy.{field}", f"{port} is already in use on every HAProxy replica: it is "
                        f"{taken[port]}", "use another port")
    if write == read:
        raise _fail("haproxy.readPort", f"{read} is also the write port", "give reads a port of their own, e.g. 5433")
    return HaproxySettings(group, write, read, stats)


def _backup(raw: dict[str, Any], name: str) -> BackupSettings:
    backup = _section(raw, "backup", BACKUP_KNOWN, required=True)
    s3 = backup.get("s3")
    if not isinstance(s3, dict):
        raise _fail("backup.s3", "is not set", "set backup.s3.endpoint, bucket and the S3 keys")
    check_known_keys(s3, BACKUP_S3_KNOWN, f"{KEY}.backup.s3")
    endpoint = s3.get("endpoint")
    problem = url_problem(endpoint, schemes=("https",), path_allowed=False)
    if problem:
        raise _fail("backup.s3.endpoint", problem, "pgBackRest 2.45 reaches S3 over HTTPS only: give https://host:port "
                    "(put TLS in front of a plain-HTTP S3 server)")
    bucket = s3.get("bucket")
    problem = s3_bucket_problem(bucket) if bucket else "is not set"
    if problem:
        raise _fail("backup.s3.bucket", problem, "name the bucket that holds the backups, e.g. pgbackrest")
    region = str(s3.get("region", "us-east-1"))
    if word_problem(region):
        raise _fail("backup.s3.region", word_problem(region) or "", "e.g. us-east-1")
    path = str(s3.get("path", f"/{name}"))
    problem = absolute_path_problem(path)
    if problem:
        raise _fail("backup.s3.path", problem, f"give the repository's path in the bucket, e.g. /{name}")
    ca_file = s3.get("caFile")
    if ca_file is not None and not Path(str(ca_file)).expanduser().is_file():
        raise _fail("backup.s3.caFile", f"{ca_file} is not a file", "point it at the CA (PEM) the S3 endpoint's "
                    "certificate is issued by, or leave it unset for the system CAs")
    retention = _whole(backup, "retentionFull", 2, 1, 100, "keep e.g. 2 full backups", where="backup.")
    schedule = str(backup.get("schedule", "*-*-* 02:00:00"))
    if not CALENDAR.match(schedule):
        raise _fail("backup.schedule", f"{schedule[:60]!r} is not a systemd calendar event",
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


def _restore(raw: dict[str, Any], backup: BackupSettings, name: str) -> RestoreSettings | None:
    restore = _section(raw, "restore", RESTORE_KNOWN)
    if not restore:
        return None
    path = str(restore.get("path", ""))
    problem = absolute_path_problem(path) if path else "is not set"
    if problem:
        raise _fail("restore.path", problem, "give the repository path of the cluster to restore, e.g. /pg-old")
    if path == backup.path:
        raise _fail("restore.path", f"{path} is also this cluster's own backup.s3.path: the restored cluster would "
                    "archive over the backups it restores from", "give the new cluster a backup.s3.path of its own")
    stanza = str(restore.get("stanza", name))
    if not IDENTIFIER.match(stanza):
        raise _fail("restore.stanza", f"{stanza[:40]!r} is not a stanza name", "the source cluster's name")
    moment = str(restore.get("time", ""))
    parsed = parse_restore_time(moment)
    if parsed is None:
        raise _fail("restore.time", f"{moment[:40]!r} is not a point in time with its zone",
                    "write it as 'YYYY-MM-DD HH:MM:SS+00', e.g. '2026-12-06 01:00:00+00'")
    if parsed > datetime.datetime.now(datetime.UTC):
        raise _fail("restore.time", f"{moment} is in the future", "give a time the backups cover")
    return RestoreSettings(path, stanza, moment)


def _data_size(raw: dict[str, Any]) -> str:
    size = str(raw.get("dataSize", "4GiB"))
    if not SIZE.match(size):
        raise _fail("dataSize", f"{size[:20]!r} is not a size LXD takes", "write it like 4GiB or 500GB")
    number, unit = int(size.rstrip("BGMTi")), size.lstrip("0123456789")
    factor = {"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "MB": 10**6, "GB": 10**9, "TB": 10**12}[unit]
    if number * factor < MIN_DATA_BYTES:
        raise _fail("dataSize", f"{size} is too small for a PostgreSQL data directory and its WAL",
                    "give each member at least 1GiB")
    return size


def postgres_settings(raw: dict[str, Any]) -> PostgresSettings:
    """Settings from the raw `lxdha:postgres` mapping, or a ConfigError naming the bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(KEY, "is not a mapping", "see docs/config.md (postgres)")
    check_known_keys(raw, KNOWN, KEY)
    _section(raw, "tls", TLS_KNOWN)  # read with the secrets; its keys are checked here
    name = _identifier(raw, "name", "pg", "cluster")
    members = _members(raw)
    prefix = str(raw.get("prefix", name.replace("_", "-")))
    problem = instance_name_problem(f"{prefix}-{members - 1}")
    if problem:
        raise _fail("prefix", problem, "use a short prefix of letters, digits and '-'")
    group = str(raw.get("group", prefix))
    if instance_name_problem(group):
        raise _fail("group", f"{group!r} is not a valid group name", "use letters, digits and '-'")
    network = _section(raw, "network", NETWORK_KNOWN, required=True)
    subnet = str(network_settings(raw, KEY).subnet)
    ansible_dir = Path(str(raw.get("ansibleDir", DEFAULT_ANSIBLE_DIR))).expanduser().resolve()
    for playbook in (PLAYBOOK, HAPROXY_PLAYBOOK):
        if not (ansible_dir / playbook).is_file():
            raise _fail("ansibleDir", f"{ansible_dir} has no {playbook}",
                        "point it at a copy of the project's ansible/")
    pool = str(raw.get("pool", "default"))
    if instance_name_problem(pool):
        raise _fail("pool", f"{pool!r} is not a storage pool name", "name an LXD storage pool, e.g. default")
    backup = _backup(raw, name)
    return PostgresSettings(
        name=name, members=members, prefix=prefix, group=group,
        allow_members_over_cluster_members=_flag(raw, "allowMembersOverClusterMembers", False),
        port=_port(raw), subnet=subnet, app_user=_identifier(raw, "appUser", "app", "role"),
        app_database=_identifier(raw, "appDatabase", "app", "database"), synchronous=_flag(raw, "synchronous", True),
        strict=_flag(raw, "strict", False), timing=_timing(raw), pool=pool, data_size=_data_size(raw),
        ansible_dir=str(ansible_dir), haproxy=_haproxy(raw, network, prefix), backup=backup,
        restore=_restore(raw, backup, name))


def check_distro(distro: str) -> None:
    """The members and the HAProxy group install Debian 12's packages (PACKAGES): no other distribution
    ships Patroni 3.0, etcd 3.4 and pgBackRest 2.45 as the roles expect them."""
    if distro != "debian":
        raise ConfigError(KEY, f"needs a Debian image, and lxdha:image.distro is {distro}",
                          "set lxdha:image to a Debian 12 image (distro: debian) with a Debian mirror, or drop "
                          f"{KEY}")


def postgres_endpoints(settings: PostgresSettings) -> dict[str, str]:
    """The database's own endpoints (setting -> host), which its VIP must not be."""
    return {f"{KEY}.backup.s3.endpoint": settings.backup.host}


def postgres_footprints(settings: PostgresSettings) -> list[Footprint]:
    """What the database takes in the cluster: its members, and its HAProxy group behind the VIP."""
    return [Footprint(KEY, tuple(settings.names()), settings.group), vip_group_footprint(settings.haproxy.vip_group)]


def postgres_packages() -> tuple[str, ...]:
    """The distribution packages the members and the HAProxy group need (what a baked image carries)."""
    return (*PACKAGES, *HAPROXY_PACKAGES)
