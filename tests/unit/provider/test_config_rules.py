"""The table of what LXD 5.0 accepts (lxd_provider/config_rules.py): values it takes and refuses per
key, unknown keys with the nearest known one suggested, LXD's own keys, keys of the other instance type,
devices, and that only what is new or changed is checked; and where Incus 6.0 takes other keys."""

from __future__ import annotations

import pytest

from cluster.server_family import INCUS, LXD, ServerFamily
from lxd_provider.config_rules import (
    CONTAINER,
    INSTANCE,
    NETWORKS,
    STORAGE_POOLS,
    VM,
    VOLUMES,
    choice_problem,
    config_problems,
    device_problems,
)
from lxd_provider.values import UNKNOWN

ALL_TABLES = [INSTANCE, *NETWORKS.values(), *STORAGE_POOLS.values(), *VOLUMES.values()]
INCUS_TABLES = [table.on(INCUS) for table in ALL_TABLES]


@pytest.mark.parametrize("table", ALL_TABLES + INCUS_TABLES,
                         ids=[t.what for t in ALL_TABLES] + [f"incus {t.what}" for t in INCUS_TABLES])
def test_every_rule_takes_its_own_example(table) -> None:
    for key, rule in table.rules.items():
        assert rule.example == "" or rule.accepts(rule.example), (key, rule.example)


@pytest.mark.parametrize(("key", "good", "bad"), [
    ("limits.cpu", ["2", "0-3", "1-1", "0,2,4-7"], ["lots", "0", "-1", "2,", "1.5"]),
    ("limits.memory", ["512MiB", "2GB", "1073741824", "50%", "10 bytes"], ["1.5GB", "2G", "lots", "512 MiB"]),
    ("limits.cpu.allowance", ["50%", "25ms/100ms"], ["half", "25ms"]),
    ("limits.cpu.priority", ["0", "10"], ["11", "high"]),
    ("limits.kernel.nofile", ["1024", "1024:4096", "unlimited", "0:unlimited"], ["lots", "1:2:3"]),
    ("boot.autostart", ["true", "false", "yes", "0", "TRUE"], ["maybe", "2"]),
    ("boot.host_shutdown_timeout", ["30"], ["30s"]),
    ("security.nesting", ["true"], ["enabled"]),
    ("cluster.evacuate", ["auto", "migrate", "live-migrate", "stop"], ["move"]),
    ("snapshots.expiry", ["2w", "1M 2H 3d"], ["2 weeks"]),
    ("user.anything.at.all", ["any text at all", ""], []),
    ("environment.PATH", ["/usr/bin"], []),
    ("raw.lxc", ["lxc.apparmor.profile=unconfined"], []),
])
def test_instance_values_lxd_takes_and_refuses(key: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert config_problems(INSTANCE, {key: value}) == [], (key, value)
    for value in bad:
        [problem] = config_problems(INSTANCE, {key: value})
        assert problem.startswith(f'config["{key}"] = "{value}": {key} takes ') and "Fix: e.g. " in problem


def test_an_unknown_key_is_refused_with_the_nearest_known_one() -> None:
    [typo] = config_problems(INSTANCE, {"limits.cpus": "2"})
    assert typo.startswith('config["limits.cpus"] = "2": limits.cpus is not an LXD 5.0 instance option. '
                           'Fix: did you mean "limits.cpu"?')
    [nesting] = config_problems(INSTANCE, {"security.nested": "true"})
    assert 'did you mean "security.nesting"?' in nesting
    [free] = config_problems(INSTANCE, {"role": "web"})
    assert "a user.* key for your own data" in free and "instance_options" in free


def test_limits_are_instance_options_under_limits() -> None:
    assert config_problems(INSTANCE, {"cpu": "2", "memory": "1GiB"}, label="limits", prefix="limits.") == []
    [typo, bad] = config_problems(INSTANCE, {"cpus": "2", "memory": "1.5GB"}, label="limits", prefix="limits.")
    assert typo.startswith('limits["cpus"] = "2": limits.cpus is not') and 'did you mean "cpu"?' in typo
    assert bad.startswith('limits["memory"] = "1.5GB": limits.memory takes')


def test_lxd_own_keys_and_the_other_instance_types_keys_are_refused() -> None:
    [volatile] = config_problems(INSTANCE, {"volatile.uuid": "x"})
    assert "volatile.* keys are LXD's own" in volatile and "Fix: remove it" in volatile
    [image] = config_problems(INSTANCE, {"image.os": "debian"})
    assert "copied from the image by LXD" in image
    [vm_only] = config_problems(INSTANCE, {"security.secureboot": "false"}, instance_type=CONTAINER)
    assert "applies to virtual-machines only, and this instance is a container" in vm_only
    [container_only] = config_problems(INSTANCE, {"security.privileged": "true"}, instance_type=VM)
    assert "applies to containers only" in container_only
    assert config_problems(INSTANCE, {"security.privileged": "true"}) == []  # a profile serves both


def test_only_what_is_new_or_changed_is_checked() -> None:
    applied = {"security.old_key_lxd_took": "1", "limits.cpu": "2"}
    assert config_problems(INSTANCE, applied, before=applied) == []
    assert len(config_problems(INSTANCE, {**applied, "limits.cpu": "x"}, before=applied)) == 1
    assert config_problems(INSTANCE, {"limits.cpu": UNKNOWN}) == []  # known at up: checked then


@pytest.mark.parametrize(("kind", "config", "refused"), [
    ("bridge", {"ipv4.address": "10.5.0.1/24", "ipv4.nat": "true", "ipv4.dhcp.ranges": "10.5.0.10-10.5.0.99",
                "ipv6.address": "none", "bridge.external_interfaces": "eth1", "tunnel.t1.protocol": "vxlan",
                "user.note": "x"}, {}),
    ("bridge", {"ipv4.address": "10.5.0.1", "ipv4.dhcp.ranges": "10.5.0.10", "bridge.mode": "fast",
                "tunnel.t1.port": "70000", "parent": "eth0"},
     {"ipv4.address", "ipv4.dhcp.ranges", "bridge.mode", "tunnel.t1.port", "parent"}),
    ("macvlan", {"parent": "eth0", "vlan": "10", "mtu": "1500"}, {}),
    ("macvlan", {"parent": "eth0", "ipv4.address": "10.0.0.1/24", "vlan": "5000"}, {"ipv4.address", "vlan"}),
    ("physical", {"parent": "eth1", "ipv4.gateway": "192.0.2.1/24", "ovn.ingress_mode": "routed"}, {}),
    ("ovn", {"network": "uplink", "ipv4.address": "auto"}, {}),
    ("sriov", {"parent": "eth2", "gvrp": "true"}, {"gvrp"}),
])
def test_network_config_per_type(kind: str, config: dict[str, str], refused: set[str]) -> None:
    problems = config_problems(NETWORKS[kind], config)
    assert {p.split('"')[1] for p in problems} == set(refused), problems


@pytest.mark.parametrize(("driver", "config", "refused"), [
    ("btrfs", {"source": "", "size": "20GiB", "volume.size": "1GiB"}, {}),
    ("dir", {"source": "/srv/lxd", "rsync.compression": "false"}, {}),
    ("dir", {"size": "20GiB"}, {"size"}),
    ("zfs", {"zfs.pool_name": "tank", "zfs.clone_copy": "rebase", "volume.zfs.use_refquota": "true"}, {}),
    ("lvm", {"lvm.vg_name": "vg0", "lvm.use_thinpool": "maybe", "volume.block.filesystem": "ntfs"},
     {"lvm.use_thinpool", "volume.block.filesystem"}),
])
def test_storage_pool_config_per_driver(driver: str, config: dict[str, str], refused: set[str]) -> None:
    problems = config_problems(STORAGE_POOLS[driver], config)
    assert {p.split('"')[1] for p in problems} == set(refused), problems


def test_volume_config_depends_on_the_pool_driver() -> None:
    assert config_problems(VOLUMES["zfs"], {"size": "10GiB", "zfs.use_refquota": "true"}) == []
    [problem] = config_problems(VOLUMES["dir"], {"size": "10GiB", "zfs.use_refquota": "true"})
    assert "zfs.use_refquota is not an LXD 5.0 dir storage volume option" in problem
    [size] = config_problems(VOLUMES["dir"], {"size": "ten gigs"})
    assert size.startswith('config["size"] = "ten gigs": size takes a size in bytes')


def test_choices_suggest_the_nearest() -> None:
    problem = choice_problem("type", "bridg", NETWORKS, "network type", "docs")
    assert problem == ('type "bridg" is not an LXD 5.0 network type (did you mean "bridge"?). '
                       "Fix: use one of bridge, macvlan, sriov, ovn, physical (docs)")
    assert choice_problem("driver", "btrfs", STORAGE_POOLS, "storage driver", "docs") is None
    assert choice_problem("driver", UNKNOWN, STORAGE_POOLS, "storage driver", "docs") is None


def test_devices() -> None:
    ok = [{"name": "eth0", "type": "nic", "properties": {"nictype": "bridged", "parent": "br0"}},
          {"name": "lan", "type": "nic", "properties": {"network": "lxdbr0"}},
          {"name": "root", "type": "disk", "properties": {"path": "/", "pool": "default"}}]
    assert device_problems(ok, CONTAINER) == []
    problems = device_problems([
        {"name": "eth0", "type": "nic", "properties": {"nictype": "bridge", "parent": "br0"}},
        {"name": "x", "type": "nick", "properties": {}},
        {"name": "both", "type": "nic", "properties": {"nictype": "bridged", "network": "lxdbr0"}},
        {"name": "gpu0", "type": "pci", "properties": {"address": "0000:01:00.0"}},
    ], CONTAINER)
    assert [p.split('"')[1] for p in problems] == ["eth0", "x", "both", "gpu0"], problems
    assert 'did you mean "bridged"?' in problems[0] and 'did you mean "nic"?' in problems[1]
    assert "pci devices apply to virtual-machines only" in problems[3]


@pytest.mark.parametrize(("table", "key", "value", "refused_by", "why"), [
    (INSTANCE, "security.devlxd", "true", INCUS, "is not an Incus 6.0 instance option"),
    (INSTANCE, "limits.network.priority", "5", INCUS, "is not an Incus 6.0 instance option"),
    (INSTANCE, "security.guestapi", "true", LXD, "is not an LXD 5.0 instance option"),
    (INSTANCE, "boot.host_shutdown_action", "force-stop", LXD, "is not an LXD 5.0 instance option"),
    (INSTANCE, "limits.cpu.nodes", "balanced", LXD, "is not an LXD 5.0 instance option"),
    (INSTANCE, "cluster.evacuate", "stateful-stop", LXD, "cluster.evacuate takes one of auto, migrate"),
    (NETWORKS["bridge"], "fan.type", "vxlan", INCUS, "is not an Incus 6.0 bridge network option"),
    (NETWORKS["physical"], "maas.subnet.ipv4", "lan", INCUS, "is not an Incus 6.0 physical network option"),
    (NETWORKS["bridge"], "dns.nameservers", "10.0.0.1", LXD, "is not an LXD 5.0 bridge network option"),
    (STORAGE_POOLS["zfs"], "volume.zfs.delegate", "true", LXD, "is not an LXD 5.0 zfs storage pool option"),
    (VOLUMES["zfs"], "zfs.block_mode", "true", LXD, "is not an LXD 5.0 zfs storage volume option"),
    (STORAGE_POOLS["lvm"], "lvm.metadata_size", "1GiB", LXD, "is not an LXD 5.0 lvm storage pool option"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_family_takes_its_own_keys(table, key: str, value: str, refused_by: ServerFamily, why: str) -> None:
    """LXD 5.0 and Incus 6.0 differ in these keys (docs/servers.md): the family that does not take one refuses
    it in its own name, the other takes it."""
    for family in (LXD, INCUS):
        problems = config_problems(table, {key: value}, family=family)
        if family is refused_by:
            assert len(problems) == 1 and why in problems[0], problems
        else:
            assert problems == [], (family.name, problems)


def test_migration_stateful_applies_to_containers_on_incus_only() -> None:
    [vm_only] = config_problems(INSTANCE, {"migration.stateful": "true"}, instance_type=CONTAINER)
    assert "applies to virtual-machines only" in vm_only
    assert config_problems(INSTANCE, {"migration.stateful": "true"}, instance_type=CONTAINER, family=INCUS) == []
