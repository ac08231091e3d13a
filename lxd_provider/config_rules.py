"""What LXD 5.0 accepts in an object's config and devices, as one table of key -> rule per kind of
object, so `check` refuses at preview what LXD would refuse half-way through `up`.

Source: LXD 5.0.2's documentation as Debian's `lxd` 5.0.2 package ships it (/usr/share/doc/lxd/,
online at https://documentation.ubuntu.com/lxd/en/stable-5.0/):
  reference/instance_options.md        instance (and profile) config, with each key's condition
  reference/instance_units.md          byte sizes (limits.memory, size, ...)
  reference/network_{bridge,macvlan,sriov,ovn,physical}.md       network config per type
  reference/storage_{dir,btrfs,lvm,zfs,ceph,cephfs}.md            pool and volume config per driver
  howto/storage_pools.md               `source` on every driver; explanation/storage.md: `volume.*`
  reference/devices.md, devices_nic.md device types and NIC types
A key not in its table is refused with the nearest known key suggested; `user.*` is free-form
everywhere; `volatile.*` is LXD's own and never set by a user.

Incus 6.0 takes the same keys but for the changes each table lists for it, read in Incus 6.0.4's source
(internal/instance/config.go, internal/server/network/driver_*.go, internal/server/storage/drivers/,
cmd/incusd/api_project.go; docs/servers.md). A check uses the table of the server's family.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster.server_family import INCUS, LXD, ServerFamily
from lxd_provider.values import UNKNOWN, known_list, known_map

DOCS = f"{LXD.docs}reference"  # LXD 5.0's reference pages
CONTAINER, VM = "container", "virtual-machine"


@dataclass(frozen=True)
class Rule:
    """What LXD takes for one key; `only` names the instance type the key applies to (None: both)."""

    takes: str
    accepts: Callable[[str], bool]
    example: str
    only: str | None = None

    def __call__(self, only: str) -> Rule:
        return Rule(self.takes, self.accepts, self.example, only)


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _ip(version: int, network: bool = False) -> Callable[[str], bool]:
    def accepts(value: str) -> bool:
        try:
            parsed = ipaddress.ip_interface(value) if network else ipaddress.ip_address(value)
        except ValueError:
            return False
        return parsed.version == version and (not network or "/" in value)
    return accepts


def _each(accepts: Callable[[str], bool]) -> Callable[[str], bool]:
    """A comma-separated list whose every item `accepts` takes."""
    return lambda value: all(accepts(item.strip()) for item in value.split(","))


def _range_of(version: int) -> Callable[[str], bool]:
    return lambda value: value.count("-") == 1 and all(_ip(version)(end.strip()) for end in value.split("-"))


def one_of(*values: str) -> Rule:
    return Rule(f"one of {', '.join(values)}", lambda value: value in values, values[0])


def integer(low: int | None = None, high: int | None = None) -> Rule:
    def accepts(value: str) -> bool:
        return re.fullmatch(r"-?\d+", value) is not None and (low is None or int(value) >= low) and (
            high is None or int(value) <= high)
    bounds = f" from {low} to {high}" if low is not None and high is not None else ""
    return Rule(f"a whole number{bounds}", accepts, str(low or 0))


def either(first: Rule, second: Rule) -> Rule:
    return Rule(f"{first.takes}, or {second.takes}", lambda v: first.accepts(v) or second.accepts(v), first.example)


ANY = Rule("any text", lambda _value: True, "")
BOOL = Rule("true or false", lambda value: value.lower() in {"true", "false", "yes", "no", "on", "off", "1", "0"},
            "true")
BYTES = Rule("a size in bytes with an optional unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, ...)",
             _matches(r"\d+(B| bytes|[kMGTPE]B|[KMGTPE]iB)?"), "512MiB")
PERCENT = Rule("a percentage", _matches(r"\d+%"), "50%")
MEMORY = either(BYTES, PERCENT)
_CPU_SET = _matches(r"\d+(-\d+)?(,\d+(-\d+)?)*")
CPUS = Rule("a number of CPUs, or a set of CPU ids (a range pins to one: 1-1)",
            lambda v: _matches(r"[1-9]\d*")(v) or (_CPU_SET(v) and ("-" in v or "," in v)), "2")
CPU_ALLOWANCE = Rule("a percentage (a soft limit) or a time slice like 25ms/100ms (a hard limit)",
                     _matches(r"\d+%|\d+ms/\d+ms"), "50%")
PRIORITY = integer(0, 10)
RLIMIT = Rule("a limit, or soft:hard limits, each a number or unlimited",
              _matches(r"(\d+|unlimited)(:(\d+|unlimited))?"), "1024:4096")
EXPIRY = Rule("an expiry like 1M 2H 3d 4w 5m 6y (minutes, hours, days, weeks, months, years)",
              _matches(r"\d+[MHdwmy]( +\d+[MHdwmy])*"), "2w")
MAC = Rule("a MAC address", _matches(r"(?i)([0-9a-f]{2}:){5}[0-9a-f]{2}"), "00:16:3e:00:00:01")
IPV4 = Rule("an IPv4 address", _ip(4), "10.0.0.1")
IPV6 = Rule("an IPv6 address", _ip(6), "fd00::1")
IPV4_CIDR = Rule("an IPv4 address with its prefix (CIDR)", _ip(4, network=True), "10.0.0.1/24")
IPV6_CIDR = Rule("an IPv6 address with its prefix (CIDR)", _ip(6, network=True), "fd00::1/64")
IPV4_BRIDGE = either(one_of("auto", "none"), IPV4_CIDR)
IPV6_BRIDGE = either(one_of("auto", "none"), IPV6_CIDR)
IPV4_RANGES = Rule("comma-separated IPv4 ranges like 10.0.0.100-10.0.0.200", _each(_range_of(4)),
                   "10.0.0.100-10.0.0.200")
IPV6_RANGES = Rule("comma-separated IPv6 ranges like fd00::100-fd00::200", _each(_range_of(6)), "fd00::100-fd00::200")
IPV4_ROUTES = Rule("comma-separated IPv4 subnets (CIDR)", _each(_ip(4, network=True)), "10.1.0.0/24")
IPV6_ROUTES = Rule("comma-separated IPv6 subnets (CIDR)", _each(_ip(6, network=True)), "fd01::/64")
ACL_ACTION = one_of("reject", "allow", "drop")


Changes = Mapping[str, Rule | None]  # what another family takes differently: a new or other rule; None: no such key


@dataclass(frozen=True)
class Table:
    """The keys one kind of object takes: exact keys, and patterns where `*` stands for any name."""

    what: str  # e.g. "instance option", for messages
    page: str  # where each family's documentation lists them, e.g. "reference/instance_options/"
    rules: Mapping[str, Rule]  # what LXD 5.0 takes
    changes: Mapping[ServerFamily, Changes] = field(default_factory=dict)  # how other families differ

    def on(self, family: ServerFamily) -> Table:
        """The table as `family` takes it."""
        changed = self.changes.get(family)
        if not changed:
            return self
        rules = {key: rule for key, rule in {**self.rules, **changed}.items() if rule is not None}
        return Table(self.what, self.page, rules)

    def rule(self, key: str) -> Rule | None:
        if key in self.rules:
            return self.rules[key]
        return next((rule for pattern, rule in self.rules.items() if "*" in pattern and _pattern(pattern)(key)), None)

    def nearest(self, key: str) -> str | None:
        known = [k.replace("*", "<name>") if not k.endswith(".*") else k for k in self.rules]
        found = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        return found[0] if found else None


def _pattern(pattern: str) -> Callable[[str], bool]:
    """`user.*` takes any rest (user.lxdha.stack); `tunnel.*.port` one name in the middle."""
    head, _, tail = pattern.partition("*")
    return _matches(re.escape(head) + (r"[^.]+" + re.escape(tail) if tail else ".+"))


# --- instances and profiles (reference/instance_options.md) ----------------------------------------------
EVACUATE = ("auto", "migrate", "live-migrate", "stop")
NUMA_NODES = Rule("a set of NUMA node ids like 0-1, or balanced", lambda v: v == "balanced" or _CPU_SET(v), "0")
# Incus 6.0.4's internal/instance/config.go against LXD 5.0.2's shared/instance.go
INCUS_INSTANCE: Changes = {
    "security.devlxd": None, "security.devlxd.images": None,  # renamed: the guest API is /dev/incus
    "security.guestapi": BOOL, "security.guestapi.images": BOOL(CONTAINER),
    "limits.network.priority": None,  # removed (a NIC's limits.priority instead)
    "cluster.evacuate": one_of(*EVACUATE, "stateful-stop", "force-stop"),
    "migration.stateful": BOOL,  # containers too (extension container_migration_stateful)
    "boot.autorestart": BOOL, "boot.host_shutdown_action": one_of("stop", "force-stop", "stateful-stop"),
    "limits.cpu.nodes": NUMA_NODES, "security.syscalls.intercept.sysinfo": BOOL(CONTAINER),
    **{key: BOOL(VM) for key in ("security.csm", "security.iommu", "security.sev", "security.sev.policy.es")},
    **{key: ANY(VM) for key in ("security.sev.session.dh", "security.sev.session.data", "raw.qemu.qmp.early",
                                "raw.qemu.qmp.post-start", "raw.qemu.qmp.pre-start", "raw.qemu.scriptlet",
                                "smbios11.*")},
}
INSTANCE = Table("instance option", "reference/instance_options/", changes={INCUS: INCUS_INSTANCE}, rules={
    # miscellaneous
    "agent.nic_config": BOOL(VM),
    "cluster.evacuate": one_of(*EVACUATE),
    "environment.*": ANY,
    "linux.kernel_modules": ANY(CONTAINER),
    "linux.sysctl.*": ANY(CONTAINER),
    "user.*": ANY,
    # boot
    "boot.autostart": BOOL,
    "boot.autostart.delay": integer(0),
    "boot.autostart.priority": integer(),
    "boot.host_shutdown_timeout": integer(0),
    "boot.stop.priority": integer(),
    # cloud-init (the legacy user.* forms are user keys)
    "cloud-init.network-config": ANY,
    "cloud-init.user-data": ANY,
    "cloud-init.vendor-data": ANY,
    # resource limits
    "limits.cpu": CPUS,
    "limits.cpu.allowance": CPU_ALLOWANCE(CONTAINER),
    "limits.cpu.priority": PRIORITY(CONTAINER),
    "limits.disk.priority": PRIORITY,
    "limits.hugepages.64KB": BYTES(CONTAINER),
    "limits.hugepages.1MB": BYTES(CONTAINER),
    "limits.hugepages.2MB": BYTES(CONTAINER),
    "limits.hugepages.1GB": BYTES(CONTAINER),
    "limits.kernel.*": RLIMIT(CONTAINER),
    "limits.memory": MEMORY,
    "limits.memory.enforce": one_of("hard", "soft")(CONTAINER),
    "limits.memory.hugepages": BOOL(VM),
    "limits.memory.swap": BOOL(CONTAINER),
    "limits.memory.swap.priority": PRIORITY(CONTAINER),
    "limits.network.priority": PRIORITY,
    "limits.processes": integer(1)(CONTAINER),
    # migration
    "migration.incremental.memory": BOOL(CONTAINER),
    "migration.incremental.memory.goal": integer(0, 100)(CONTAINER),
    "migration.incremental.memory.iterations": integer(1)(CONTAINER),
    "migration.stateful": BOOL(VM),
    # NVIDIA and CUDA
    "nvidia.driver.capabilities": ANY(CONTAINER),
    "nvidia.runtime": BOOL(CONTAINER),
    "nvidia.require.cuda": ANY(CONTAINER),
    "nvidia.require.driver": ANY(CONTAINER),
    # raw overrides
    "raw.apparmor": ANY,
    "raw.idmap": ANY(CONTAINER),
    "raw.lxc": ANY(CONTAINER),
    "raw.qemu": ANY(VM),
    "raw.qemu.conf": ANY(VM),
    "raw.seccomp": ANY(CONTAINER),
    # security policies
    "security.devlxd": BOOL,
    "security.devlxd.images": BOOL(CONTAINER),
    "security.idmap.base": integer(0)(CONTAINER),
    "security.idmap.isolated": BOOL(CONTAINER),
    "security.idmap.size": integer(1)(CONTAINER),
    "security.nesting": BOOL(CONTAINER),
    "security.privileged": BOOL(CONTAINER),
    "security.protection.delete": BOOL,
    "security.protection.shift": BOOL(CONTAINER),
    "security.agent.metrics": BOOL(VM),
    "security.secureboot": BOOL(VM),
    "security.syscalls.allow": ANY(CONTAINER),
    "security.syscalls.deny": ANY(CONTAINER),
    "security.syscalls.deny_compat": BOOL(CONTAINER),
    "security.syscalls.deny_default": BOOL(CONTAINER),
    "security.syscalls.intercept.bpf": BOOL(CONTAINER),
    "security.syscalls.intercept.bpf.devices": BOOL(CONTAINER),
    "security.syscalls.intercept.mknod": BOOL(CONTAINER),
    "security.syscalls.intercept.mount": BOOL(CONTAINER),
    "security.syscalls.intercept.mount.allowed": ANY(CONTAINER),
    "security.syscalls.intercept.mount.fuse": ANY(CONTAINER),
    "security.syscalls.intercept.mount.shift": BOOL(CONTAINER),
    "security.syscalls.intercept.sched_setscheduler": BOOL(CONTAINER),
    "security.syscalls.intercept.setxattr": BOOL(CONTAINER),
    # snapshots
    "snapshots.schedule": ANY,
    "snapshots.schedule.stopped": BOOL,
    "snapshots.pattern": ANY,
    "snapshots.expiry": EXPIRY,
})

# --- networks, per type (reference/network_*.md) ---------------------------------------------------------
_MAAS = {"maas.subnet.ipv4": ANY, "maas.subnet.ipv6": ANY, "user.*": ANY}
_BGP_PEERS = {"bgp.peers.*.address": either(IPV4, IPV6), "bgp.peers.*.asn": integer(1), "bgp.peers.*.password": ANY}
_ACLS = {"security.acls": ANY, "security.acls.default.egress.action": ACL_ACTION,
         "security.acls.default.egress.logged": BOOL, "security.acls.default.ingress.action": ACL_ACTION,
         "security.acls.default.ingress.logged": BOOL}
_DNS_ZONES = {"dns.zone.forward": ANY, "dns.zone.reverse.ipv4": ANY, "dns.zone.reverse.ipv6": ANY}
_LINK = {"mtu": integer(68), "parent": ANY, "vlan": integer(0, 4094)}
# Incus 6.0.4's internal/server/network/driver_*.go against LXD 5.0.2's lxd/network/driver_*.go: no MAAS,
# no fan bridges; a few keys more
_NO_MAAS: Changes = dict.fromkeys(_MAAS.keys() - {"user.*"})
_INCUS_DHCP: Changes = {"dns.nameservers": ANY, "ipv4.dhcp.routes": ANY}
INCUS_NETWORKS: dict[str, Changes] = {
    "bridge": {**_NO_MAAS, **_INCUS_DHCP, **dict.fromkeys(("bridge.mode", "fan.overlay_subnet", "fan.type",
                                                         "fan.underlay_subnet"))},
    "macvlan": _NO_MAAS, "sriov": _NO_MAAS, "physical": _NO_MAAS,
    "ovn": {**_INCUS_DHCP, "bridge.external_interfaces": ANY, "ipv4.dhcp.expiry": ANY,
            "ipv4.dhcp.ranges": IPV4_RANGES, "ipv4.l3only": BOOL, "ipv6.l3only": BOOL},
}


def _network(kind: str, rules: Mapping[str, Rule]) -> Table:
    return Table(f"{kind} network option", f"reference/network_{kind}/", rules, {INCUS: INCUS_NETWORKS[kind]})


NETWORKS: dict[str, Table] = {
    "bridge": _network("bridge", {
        **_BGP_PEERS, **_DNS_ZONES, **_ACLS, **_MAAS,
        "bgp.ipv4.nexthop": IPV4, "bgp.ipv6.nexthop": IPV6,
        "bridge.driver": one_of("native", "openvswitch"), "bridge.external_interfaces": ANY,
        "bridge.hwaddr": MAC, "bridge.mode": one_of("standard", "fan"), "bridge.mtu": integer(68),
        "dns.domain": ANY, "dns.mode": one_of("managed", "dynamic", "none"), "dns.search": ANY,
        "fan.overlay_subnet": IPV4_ROUTES, "fan.type": one_of("vxlan", "ipip"),
        "fan.underlay_subnet": either(one_of("auto"), IPV4_ROUTES),
        "ipv4.address": IPV4_BRIDGE, "ipv4.dhcp": BOOL, "ipv4.dhcp.expiry": ANY, "ipv4.dhcp.gateway": IPV4,
        "ipv4.dhcp.ranges": IPV4_RANGES, "ipv4.firewall": BOOL, "ipv4.nat": BOOL, "ipv4.nat.address": IPV4,
        "ipv4.nat.order": one_of("before", "after"), "ipv4.ovn.ranges": IPV4_RANGES, "ipv4.routes": IPV4_ROUTES,
        "ipv4.routing": BOOL,
        "ipv6.address": IPV6_BRIDGE, "ipv6.dhcp": BOOL, "ipv6.dhcp.expiry": ANY, "ipv6.dhcp.ranges": IPV6_RANGES,
        "ipv6.dhcp.stateful": BOOL, "ipv6.firewall": BOOL, "ipv6.nat": BOOL, "ipv6.nat.address": IPV6,
        "ipv6.nat.order": one_of("before", "after"), "ipv6.ovn.ranges": IPV6_RANGES, "ipv6.routes": IPV6_ROUTES,
        "ipv6.routing": BOOL,
        "raw.dnsmasq": ANY,
        "tunnel.*.group": IPV4, "tunnel.*.id": integer(0), "tunnel.*.interface": ANY, "tunnel.*.local": ANY,
        "tunnel.*.port": integer(0, 65535), "tunnel.*.protocol": one_of("gre", "vxlan"), "tunnel.*.remote": ANY,
        "tunnel.*.ttl": integer(1, 255),
    }),
    "macvlan": _network("macvlan", {**_LINK, **_MAAS, "gvrp": BOOL}),
    "sriov": _network("sriov", {**_LINK, **_MAAS}),
    "ovn": _network("ovn", {
        **_DNS_ZONES, **_ACLS, "user.*": ANY, "network": ANY, "bridge.hwaddr": MAC, "bridge.mtu": integer(68),
        "dns.domain": ANY, "dns.search": ANY,
        "ipv4.address": IPV4_BRIDGE, "ipv4.dhcp": BOOL, "ipv4.nat": BOOL, "ipv4.nat.address": IPV4,
        "ipv6.address": IPV6_BRIDGE, "ipv6.dhcp": BOOL, "ipv6.dhcp.stateful": BOOL, "ipv6.nat": BOOL,
        "ipv6.nat.address": IPV6,
    }),
    "physical": _network("physical", {
        **_LINK, **_MAAS, **_BGP_PEERS, "gvrp": BOOL, "dns.nameservers": ANY,
        "ipv4.gateway": IPV4_CIDR, "ipv4.ovn.ranges": IPV4_RANGES, "ipv4.routes": IPV4_ROUTES,
        "ipv4.routes.anycast": BOOL, "ipv6.gateway": IPV6_CIDR, "ipv6.ovn.ranges": IPV6_RANGES,
        "ipv6.routes": IPV6_ROUTES, "ipv6.routes.anycast": BOOL, "ovn.ingress_mode": one_of("l2proxy", "routed"),
    }),
}

# --- storage pools and their volumes, per driver (reference/storage_*.md) --------------------------------
_VOLUME_COMMON = {"security.shifted": BOOL, "security.unmapped": BOOL, "size": BYTES, "snapshots.expiry": EXPIRY,
                  "snapshots.pattern": ANY, "snapshots.schedule": ANY, "user.*": ANY}
_BLOCK = {"block.filesystem": one_of("ext4", "btrfs", "xfs"), "block.mount_options": ANY}
_RSYNC = {"rsync.bwlimit": ANY, "rsync.compression": BOOL}
VOLUME_RULES: dict[str, dict[str, Rule]] = {
    "dir": _VOLUME_COMMON,
    "btrfs": _VOLUME_COMMON,
    "lvm": {**_VOLUME_COMMON, **_BLOCK, "lvm.stripes": integer(1), "lvm.stripes.size": BYTES},
    "zfs": {**_VOLUME_COMMON, "zfs.blocksize": BYTES, "zfs.remove_snapshots": BOOL, "zfs.use_refquota": BOOL,
            "zfs.reserve_space": BOOL},
    "ceph": {**_VOLUME_COMMON, **_BLOCK},
    "cephfs": _VOLUME_COMMON,
}
POOL_RULES: dict[str, dict[str, Rule]] = {
    "dir": {**_RSYNC},
    "btrfs": {"btrfs.mount_options": ANY, "size": BYTES},
    "lvm": {**_RSYNC, "lvm.thinpool_name": ANY, "lvm.thinpool_metadata_size": BYTES, "lvm.use_thinpool": BOOL,
            "lvm.vg.force_reuse": BOOL, "lvm.vg_name": ANY, "size": BYTES},
    "zfs": {"size": BYTES, "zfs.clone_copy": either(BOOL, one_of("rebase")), "zfs.export": BOOL,
            "zfs.pool_name": ANY},
    "ceph": {"ceph.cluster_name": ANY, "ceph.osd.data_pool_name": ANY, "ceph.osd.pg_num": integer(1),
             "ceph.osd.pool_name": ANY, "ceph.rbd.clone_copy": BOOL, "ceph.rbd.du": BOOL, "ceph.rbd.features": ANY,
             "ceph.user.name": ANY},
    "cephfs": {"cephfs.cluster_name": ANY, "cephfs.fscache": BOOL, "cephfs.path": ANY, "cephfs.user.name": ANY},
}
# Incus 6.0.4's internal/server/storage/drivers/driver_*.go against LXD 5.0.2's: only keys added
INCUS_VOLUMES: dict[str, Changes] = {"zfs": {**_BLOCK, "zfs.block_mode": BOOL, "zfs.delegate": BOOL}}
INCUS_POOLS: dict[str, Changes] = {
    "lvm": {"lvm.metadata_size": BYTES},
    "cephfs": {"cephfs.create_missing": BOOL, "cephfs.data_pool": ANY, "cephfs.meta_pool": ANY,
               "cephfs.osd_pg_num": integer(1)},
}


def _volume_defaults(rules: Changes) -> Changes:
    """A pool's `volume.*` keys: the defaults of its volumes' keys."""
    return {f"volume.{key}": rule for key, rule in rules.items() if key != "user.*"}


STORAGE_POOLS: dict[str, Table] = {
    driver: Table(f"{driver} storage pool option", f"reference/storage_{driver}/",
                  {"source": ANY, "user.*": ANY, **rules, **_volume_defaults(VOLUME_RULES[driver])},
                  {INCUS: {**INCUS_POOLS.get(driver, {}), **_volume_defaults(INCUS_VOLUMES.get(driver, {}))}})
    for driver, rules in POOL_RULES.items()}
VOLUMES: dict[str, Table] = {driver: Table(f"{driver} storage volume option", f"reference/storage_{driver}/", rules,
                                           {INCUS: INCUS_VOLUMES.get(driver, {})})
                             for driver, rules in VOLUME_RULES.items()}

# --- projects (reference/projects.md) and network ACLs (reference/network_acls.md) ---------------------------
PROJECT = Table("project option", "reference/projects/", changes={INCUS: {"features.storage.buckets": BOOL}}, rules={
    **{f"features.{name}": BOOL for name in ("images", "networks", "networks.zones", "profiles", "storage.volumes")},
    **{f"limits.{name}": integer(0) for name in ("containers", "cpu", "instances", "networks", "processes",
                                                 "virtual-machines")},
    "limits.disk": BYTES, "limits.memory": MEMORY,
    "restricted": BOOL, "restricted.*": ANY,
    "backups.compression_algorithm": ANY, "images.auto_update_cached": BOOL, "images.auto_update_interval": integer(0),
    "images.compression_algorithm": ANY, "images.default_architecture": ANY, "images.remote_cache_expiry": integer(0),
    "user.*": ANY,
})
NETWORK_ACL = Table("network ACL option", "howto/network_acls/", {"user.*": ANY})

# --- devices (reference/devices.md, devices_nic.md) -----------------------------------------------------
DEVICE_TYPES = {"none": None, "nic": None, "disk": None, "unix-char": CONTAINER, "unix-block": CONTAINER,
                "usb": None, "gpu": None, "infiniband": CONTAINER, "proxy": CONTAINER, "unix-hotplug": CONTAINER,
                "tpm": None, "pci": VM}
NIC_TYPES = ("bridged", "macvlan", "sriov", "physical", "ipvlan", "p2p", "routed")  # ovn: only through `network`

# LXD's own keys: a user never sets them
RESERVED = {"volatile.": "volatile.* keys are LXD's own record of an object and cannot be set",
            "image.": "image.* keys are copied from the image by LXD when the instance is made"}


def _quoted(value: Any) -> str:
    return f'"{value}"'


def did_you_mean(words: Iterable[str], word: str) -> str:
    found = difflib.get_close_matches(word, list(words), n=1, cutoff=0.6)
    return f" (did you mean {_quoted(found[0])}?)" if found else ""


def config_problems(table: Table, config: Mapping[str, Any], before: Mapping[str, Any] | None = None, *,
                    label: str = "config", prefix: str = "", instance_type: str | None = None,
                    family: ServerFamily = LXD) -> list[str]:
    """Why the server (of `family`) would refuse each key of `config` that is new or changed since `before` (a
    key already applied was accepted then). `prefix` turns a key into LXD's (limits: cpu -> limits.cpu)."""
    problems = []
    table, doc = table.on(family), f"{family.docs}{table.page}"
    for key, value in sorted(known_map(config).items()):
        if value is UNKNOWN or (before is not None and known_map(before).get(key) == value):
            continue
        name, text = prefix + str(key), str(value)
        where = f"{label}[{_quoted(key)}] = {_quoted(text)}"
        reserved = next((why for start, why in RESERVED.items() if name.startswith(start)), None)
        rule = None if reserved else table.rule(name)
        if reserved:
            problems.append(f"{where}: {reserved}. Fix: remove it (keep your own data in user.* keys)")
        elif rule is None:
            nearest = table.nearest(name)
            fix = f"did you mean {_quoted(nearest.removeprefix(prefix))}? (the options: {doc})" if nearest \
                else f"use one of the options ({doc}), or a user.* key for your own data"
            problems.append(f"{where}: {name} is not an {family.label} {table.what}. Fix: {fix}")
        elif rule.only and instance_type and rule.only != instance_type:
            problems.append(f"{where}: {name} applies to {rule.only}s only, and this instance is a "
                            f"{instance_type}. Fix: remove it")
        elif text and not rule.accepts(text):
            problems.append(f"{where}: {name} takes {rule.takes}. Fix: e.g. {_quoted(key)}: {_quoted(rule.example)}")
    return problems


def choice_problem(label: str, value: Any, choices: Iterable[str], what: str, doc: str) -> str | None:
    """Why `value` is not one of LXD's `choices` for `label` (a network type, a pool driver), or None."""
    options = list(choices)
    if value is UNKNOWN or value in options:
        return None
    return (f"{label} {_quoted(value)} is not an LXD 5.0 {what}{did_you_mean(options, str(value))}. "
            f"Fix: use one of {', '.join(options)} ({doc})")


def changed_devices(devices: Any, before: Any) -> list[Mapping[str, Any]]:
    """The devices that are new or differ from `before` (one applied already was accepted then)."""
    applied = known_list(before)
    return [device for device in known_list(devices) if device not in applied]


def device_problems(devices: Iterable[Mapping[str, Any]], instance_type: str | None = None) -> list[str]:
    """Why LXD would refuse a device: an unknown type or NIC type, a NIC with both or neither of
    nictype and network, a type the instance type does not take."""
    problems = []
    for device in known_list(devices):
        if not isinstance(device, Mapping) or device.get("type") is UNKNOWN:
            continue
        name, kind, properties = device.get("name"), device.get("type"), known_map(device.get("properties"))
        where = f"devices[{_quoted(name)}]"
        problem = choice_problem(f"{where}.type", kind, DEVICE_TYPES, "device type", f"{DOCS}/devices/")
        if problem:
            problems.append(problem)
        elif DEVICE_TYPES[kind] and instance_type and DEVICE_TYPES[kind] != instance_type:
            problems.append(f"{where}.type {_quoted(kind)}: {kind} devices apply to {DEVICE_TYPES[kind]}s only, "
                            f"and this instance is a {instance_type}. Fix: remove the device")
        elif kind == "nic" and ("nictype" in properties) == ("network" in properties):
            problems.append(f"{where}: a nic device takes either nictype (with parent) or network, one of the two. "
                            f"Fix: set network to a managed network, or nictype (one of {', '.join(NIC_TYPES)})")
        elif kind == "nic" and "nictype" in properties:
            problem = choice_problem(f"{where}.properties.nictype", properties["nictype"], NIC_TYPES, "NIC type",
                                     f"{DOCS}/devices_nic/")
            problems += [problem] if problem else []
    return problems
