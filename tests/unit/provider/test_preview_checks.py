"""What LXD would refuse half-way through `up` is refused by `check`, at preview: each of the five mistakes
a new user met only at `up` (an image alias that does not exist, an invalid limits.cpu, an unknown config
key, a pool that does not exist, an unknown network driver), and the rules around them: what this program
declares counts as there, only what is new or changed is checked, values not known yet wait for `up`, and
so does what needs a server that cannot answer. Every line the engine prints names the resource, the
property, the value and the fix (the nearest valid name, key or value when there is one)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.provider.experimental.provider import CheckRequest

from cluster.errors import ConnectionSetupError
from lxd_provider import cached_image
from lxd_provider.server import LxdProvider
from lxd_provider.values import UNKNOWN, plain_map
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import FakeConnection, engine_call, values


@pytest.fixture
def provider(fake: FakeLxd) -> LxdProvider:
    plugin = LxdProvider()
    plugin._connection = FakeConnection(fake)  # type: ignore[assignment]
    fake.add_image("b" * 64, aliases=("fedora/vm",))
    fake.images["b" * 64]["type"] = fake.aliases["fedora/vm"]["type"] = "virtual-machine"
    return plugin


def urn(token: str, name: str) -> str:
    return f"urn:pulumi:dev::shop::{token}::{name}"


INSTANCE, VOLUME = "lxd:index/instance:Instance", "lxd:index/volume:Volume"
NETWORK, POOL = "lxd:index/network:Network", "lxd:index/storagePool:StoragePool"
PROFILE, IMAGE = "lxd:index/profile:Profile", "lxd:index/cachedImage:CachedImage"
PROJECT, SNAPSHOT = "lxd:index/project:Project", "lxd:index/snapshot:Snapshot"
FILE, COPY, ACL = ("lxd:index/instanceFile:InstanceFile", "lxd:index/volumeCopy:VolumeCopy",
                   "lxd:index/networkAcl:NetworkAcl")


def engine_lines(provider: LxdProvider, token: str, resource: str, news: dict[str, Any],
                 olds: dict[str, Any] | None = None) -> list[str]:
    """What the engine prints for each failure (its diagnostic 2003: type, resource name, property, value)."""
    checked = engine_call(provider.check(CheckRequest(urn(token, resource), values(**(olds or {})), values(**news),
                                                      b"")))
    declared = plain_map(checked.inputs)
    return [f"{token} resource '{resource}': property {f.property} value {declared.get(f.property)!r} has a "
            f"problem: {f.reason}" for f in checked.failures or []]


WEB = {"name": "web-0", "image": "debian/stable"}
VM = {**WEB, "type": "virtual-machine", "image": "fedora/vm"}


@pytest.mark.parametrize(("token", "name", "news", "expected"), [
    (INSTANCE, "web", {**WEB, "image": "debian/nope"},
     "lxd:index/instance:Instance resource 'web': property image value 'debian/nope' has a problem: image "
     '"debian/nope" does not exist, nor is it declared in this program (did you mean "debian/stable"?). Fix: '
     "check the name (`lxc image alias list` shows what exists), or copy it into the cluster with "
     "lxd.CachedImage and pass its `aliases` output here"),
    (INSTANCE, "web", {**WEB, "config": {"limits.cpu": "lots"}},
     "lxd:index/instance:Instance resource 'web': property config value {'limits.cpu': 'lots'} has a problem: "
     'config["limits.cpu"] = "lots": limits.cpu takes a number of CPUs, or a set of CPU ids (a range pins to '
     'one: 1-1). Fix: e.g. "limits.cpu": "2"'),
    (INSTANCE, "web", {**WEB, "config": {"limits.cpus": "2"}},
     "lxd:index/instance:Instance resource 'web': property config value {'limits.cpus': '2'} has a problem: "
     'config["limits.cpus"] = "2": limits.cpus is not an LXD 5.0 instance option. Fix: did you mean "limits.cpu"? '
     "(the options: https://documentation.ubuntu.com/lxd/en/stable-5.0/reference/instance_options/)"),
    (VOLUME, "data", {"name": "data", "pool": "fast"},
     "lxd:index/volume:Volume resource 'data': property pool value 'fast' has a problem: storage pool \"fast\" "
     "does not exist, nor is it declared in this program. Fix: check the name (`lxc storage list` shows what "
     "exists), or declare it with lxd.StoragePool and pass its `name` output here"),
    (NETWORK, "lan", {"name": "lan0", "type": "bridg"},
     "lxd:index/network:Network resource 'lan': property type value 'bridg' has a problem: type \"bridg\" is not "
     'an LXD 5.0 network type (did you mean "bridge"?). Fix: use one of bridge, macvlan, sriov, ovn, physical '
     "(https://documentation.ubuntu.com/lxd/en/stable-5.0/reference/networks/)"),
], ids=["image alias", "limits.cpu", "unknown key", "pool", "network driver"])
def test_the_five_mistakes_fail_at_preview_naming_resource_property_value_and_fix(
        provider: LxdProvider, fake: FakeLxd, token: str, name: str, news: dict[str, Any], expected: str) -> None:
    before = len(fake.calls)
    assert engine_lines(provider, token, name, news) == [expected]
    assert all(method == "GET" for method, _ in fake.calls[before:]), "a check only reads"


def disk(pool: str) -> dict[str, Any]:
    return {"name": "data", "type": "disk", "properties": {"path": "/data", "pool": pool}}


def nic(**properties: str) -> dict[str, Any]:
    return {"name": "eth1", "type": "nic", "properties": properties}


# rule -> (resource type, its inputs, the property named, what the reason says: the value and the fix)
RULES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "image": (INSTANCE, {**WEB, "image": "debian/stabel"}, "image",
              'image "debian/stabel" does not exist, nor is it declared in this program (did you mean '
              '"debian/stable"?). Fix: check the name (`lxc image alias list` shows what exists)'),
    "profile": (INSTANCE, {**WEB, "profiles": ["default", "smal"]}, "profiles",
                'profile "smal" does not exist, nor is it declared in this program (did you mean "small"?)'),
    "member": (INSTANCE, {**WEB, "target": "m11"}, "target",
               'member "m11" is not in the cluster (did you mean "m1"?). Fix: use one of m1, m2, m3'),
    "volume pool": (VOLUME, {"name": "data", "pool": "defualt"}, "pool",
                    'storage pool "defualt" does not exist, nor is it declared in this program (did you mean '
                    '"default"?). Fix: check the name (`lxc storage list` shows what exists), or declare it with '
                    "lxd.StoragePool"),
    "device pool": (INSTANCE, {**WEB, "devices": [disk("fast")]}, "devices",
                    'devices["data"].pool: storage pool "fast" does not exist'),
    "device network": (PROFILE, {"name": "net", "devices": [nic(network="lxdbr1")]}, "devices",
                       'devices["eth1"].network: network "lxdbr1" does not exist, nor is it declared in this '
                       'program (did you mean "lxdbr0"?)'),
    "config key": (INSTANCE, {**WEB, "config": {"boot.autostrat": "true"}}, "config",
                   'config["boot.autostrat"] = "true": boot.autostrat is not an LXD 5.0 instance option. Fix: did '
                   'you mean "boot.autostart"?'),
    "config value": (PROFILE, {"name": "small", "config": {"limits.memory": "2 gigs"}}, "config",
                     'config["limits.memory"] = "2 gigs": limits.memory takes a size in bytes'),
    "limits value": (INSTANCE, {**WEB, "limits": {"cpu": "two"}}, "limits",
                     'limits["cpu"] = "two": limits.cpu takes a number of CPUs'),
    "instance type": (INSTANCE, {**VM, "config": {"security.nesting": "true"}},
                      "config", "security.nesting applies to containers only, and this instance is a virtual-machine"),
    "image type": (INSTANCE, {**VM, "image": "debian/stable"}, "image",
                   'image "debian/stable" is a container image, and this instance is a virtual-machine. Fix: use a '
                   'virtual-machine image (lxd.CachedImage with type "virtual-machine"), or set type to "container"'),
    "reserved key": (INSTANCE, {**WEB, "config": {"volatile.eth0.hwaddr": "00:16:3e:00:00:01"}}, "config",
                     "volatile.* keys are LXD's own record of an object and cannot be set. Fix: remove it"),
    "device type": (INSTANCE, {**WEB, "devices": [{"name": "d", "type": "disc", "properties": {}}]}, "devices",
                    'devices["d"].type "disc" is not an LXD 5.0 device type (did you mean "disk"?)'),
    "device for the type": (INSTANCE, {**VM, "devices": [
        {"name": "p", "type": "proxy", "properties": {}}]}, "devices",
        'devices["p"].type "proxy": proxy devices apply to containers only, and this instance is a virtual-machine'),
    "nic type": (INSTANCE, {**WEB, "devices": [nic(nictype="bridge", parent="br0")]}, "devices",
                 'devices["eth1"].properties.nictype "bridge" is not an LXD 5.0 NIC type (did you mean "bridged"?)'),
    "nic source": (PROFILE, {"name": "net", "devices": [nic(parent="br0")]}, "devices",
                   'devices["eth1"]: a nic device takes either nictype (with parent) or network, one of the two'),
    "network type": (NETWORK, {"name": "lan0", "type": "ovs"}, "type",
                     'type "ovs" is not an LXD 5.0 network type (did you mean "ovn"?)'),
    "network config": (NETWORK, {"name": "lan0", "config": {"ipv4.address": "10.7.0.1"}}, "config",
                       'config["ipv4.address"] = "10.7.0.1": ipv4.address takes one of auto, none, or an IPv4 '
                       "address"),
    "pool driver": (POOL, {"name": "fast", "driver": "zfss"}, "driver",
                    'driver "zfss" is not an LXD 5.0 storage driver (did you mean "zfs"?)'),
    "pool config": (POOL, {"name": "fast", "driver": "dir", "config": {"size": "20GiB"}}, "config",
                    'config["size"] = "20GiB": size is not an LXD 5.0 dir storage pool option'),
    "volume config": (VOLUME, {"name": "data", "pool": "default", "config": {"zfs.blocksize": "8KiB"}}, "config",
                      'config["zfs.blocksize"] = "8KiB": zfs.blocksize is not an LXD 5.0 dir storage volume option'),
    "project": (INSTANCE, {**WEB, "project": "team-b"}, "project",
                'project "team-b" does not exist, nor is it declared in this program (did you mean "team-a"?). Fix: '
                "check the name (`lxc project list` shows what exists), or declare it with lxd.Project"),
    "project config": (PROJECT, {"name": "team-b", "config": {"limits.instance": "5"}}, "config",
                       'config["limits.instance"] = "5": limits.instance is not an LXD 5.0 project option. Fix: did '
                       'you mean "limits.instances"?'),
    "project limit": (PROJECT, {"name": "team-b", "config": {"limits.containers": "some"}}, "config",
                      'config["limits.containers"] = "some": limits.containers takes'),
    "snapshot instance": (SNAPSHOT, {"name": "before", "instance": "web-9"}, "instance",
                          'instance "web-9" does not exist, nor is it declared in this program (did you mean '
                          '"web-0"?). Fix: check the name (`lxc list` shows what exists), or declare it with '
                          "lxd.Instance"),
    "file instance": (FILE, {"instance": "web-9", "targetPath": "/etc/motd", "content": "hi"}, "instance",
                      'instance "web-9" does not exist, nor is it declared in this program'),
    "copy source pool": (COPY, {"name": "copy", "pool": "default", "sourcePool": "defualt", "sourceName": "data"},
                         "sourcePool", 'storage pool "defualt" does not exist, nor is it declared in this program'),
    "copy source member": (COPY, {"name": "copy", "pool": "default", "sourcePool": "default", "sourceName": "data",
                                  "sourceTarget": "m9"}, "sourceTarget", 'member "m9" is not in the cluster'),
    "network ACL config": (ACL, {"name": "web", "config": {"colour": "red"}}, "config",
                           'config["colour"] = "red": colour is not an LXD 5.0 network ACL option'),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_names_the_property_the_value_and_the_fix(provider: LxdProvider, fake: FakeLxd,
                                                            rule: str) -> None:
    fake.profiles["small"] = {"name": "small", "config": {}, "devices": {}, "description": ""}
    fake.networks["lxdbr0"] = {"name": "lxdbr0", "type": "bridge", "config": {}, "description": ""}
    fake.add_project("team-a")
    fake.add_instance("web-0", "m2")
    token, news, prop, reason = RULES[rule]
    [line] = engine_lines(provider, token, "it", news)
    assert f"resource 'it': property {prop} value " in line and reason in line, line


def test_references_inside_devices_and_lists(provider: LxdProvider) -> None:
    lines = engine_lines(provider, INSTANCE, "web", {**WEB, "profiles": ["default", "smal"], "devices": [
        {"name": "data", "type": "disk", "properties": {"path": "/data", "pool": "fast"}},
        {"name": "lan", "type": "nic", "properties": {"network": "lan0"}}]})
    assert [line.split(" has a problem: ")[1].split(" does not exist")[0] for line in lines] == [
        'profile "smal"', 'devices["data"].pool: storage pool "fast"', 'devices["lan"].network: network "lan0"']


def test_what_the_program_declares_counts_as_there(provider: LxdProvider, fake: FakeLxd,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake.remote_images["alpine/3.23"] = "c" * 64
    monkeypatch.setattr(cached_image, "remote_image_problem", lambda _source: None)
    assert engine_lines(provider, IMAGE, "base", {"sourceRemote": "https://images.example",
                                                  "sourceImage": "alpine/3.23", "aliases": ["alpine/stable"]}) == []
    assert engine_lines(provider, POOL, "fast", {"name": "fast", "driver": "zfs", "config": {"size": "20GiB"}}) == []
    assert engine_lines(provider, PROFILE, "small", {"name": "small", "config": {"limits.cpu": "1"}}) == []
    assert engine_lines(provider, NETWORK, "lan", {"name": "lan0", "config": {"ipv4.address": "10.7.0.1/24"}}) == []
    lan = {"name": "lan", "type": "nic", "properties": {"network": "lan0"}}
    web = {**WEB, "image": "alpine/stable", "profiles": ["small"], "devices": [lan]}
    assert engine_lines(provider, INSTANCE, "web", web) == []
    data = {"name": "data", "pool": "fast", "config": {"zfs.use_refquota": "true"}}
    assert engine_lines(provider, VOLUME, "data", data) == []
    # the declared pool's driver decides its volumes' keys
    [line] = engine_lines(provider, VOLUME, "data", {**data, "config": {"btrfs.x": "1"}})
    assert "btrfs.x is not an LXD 5.0 zfs storage volume option" in line


def test_volume_keys_follow_the_live_pools_driver(provider: LxdProvider) -> None:
    data = {"name": "data", "pool": "default"}
    assert engine_lines(provider, VOLUME, "data", {**data, "config": {"size": "1GiB"}}) == []
    [line] = engine_lines(provider, VOLUME, "data", {**data, "config": {"zfs.blocksize": "8KiB"}})
    assert 'config["zfs.blocksize"] = "8KiB": zfs.blocksize is not an LXD 5.0 dir storage volume option' in line


def test_only_what_is_new_or_changed_is_checked(provider: LxdProvider, fake: FakeLxd) -> None:
    applied = {**WEB, "image": "debian/old", "config": {"user.x": "1", "limits.cpu": "2"}}
    # the alias the instance was made from is gone, and it still refreshes and updates: nothing new refers to it
    assert engine_lines(provider, INSTANCE, "web", applied, olds=applied) == []
    changed = {**applied, "config": {"user.x": "1", "limits.cpu": "x"}}
    [line] = engine_lines(provider, INSTANCE, "web", changed, olds=applied)
    assert 'config["limits.cpu"] = "x"' in line and "user.x" not in line.split(" has a problem: ")[1]
    assert len(engine_lines(provider, INSTANCE, "web", {**applied, "image": "debian/next"}, olds=applied)) == 1


def test_values_not_known_yet_wait_for_up(provider: LxdProvider) -> None:
    lines = engine_lines(provider, INSTANCE, "web", {**WEB, "image": "debian/nope", "target": UNKNOWN,
                                                     "config": UNKNOWN})
    assert [line.split(" value ")[0].rsplit(" ", 1)[1] for line in lines] == ["image"], lines
    assert engine_lines(provider, INSTANCE, "web", {**WEB, "image": UNKNOWN, "profiles": UNKNOWN}) == []


def test_rules_of_the_instance_type_and_devices(provider: LxdProvider) -> None:
    vm_config = {"security.nesting": "true"}
    [vm] = engine_lines(provider, INSTANCE, "vm", {**VM, "config": vm_config})
    assert "security.nesting applies to containers only, and this instance is a virtual-machine" in vm
    [nic] = engine_lines(provider, INSTANCE, "web", {**WEB, "devices": [
        {"name": "eth1", "type": "nic", "properties": {"nictype": "bridge", "parent": "br0"}}]})
    assert "property devices value" in nic and 'did you mean "bridged"?' in nic
    [limit] = engine_lines(provider, INSTANCE, "web", {**WEB, "limits": {"memory": "lots"}})
    assert 'limits["memory"] = "lots": limits.memory takes' in limit


def test_networks_and_pools_check_their_config(provider: LxdProvider) -> None:
    [network] = engine_lines(provider, NETWORK, "lan", {"name": "lan0", "config": {"ipv4.address": "10.7.0.1"}})
    assert 'config["ipv4.address"] = "10.7.0.1": ipv4.address takes one of auto, none, or an IPv4 address' in network
    [pool] = engine_lines(provider, POOL, "fast", {"name": "fast", "driver": "zfss"})
    assert 'driver "zfss" is not an LXD 5.0 storage driver (did you mean "zfs"?)' in pool
    [key] = engine_lines(provider, POOL, "fast", {"name": "fast", "driver": "dir", "config": {"size": "20GiB"}})
    assert "size is not an LXD 5.0 dir storage pool option" in key


class Silent:
    """A connection to a server that does not answer (the remote is down or unreachable), or, given
    another setting, one that answers but refuses us (a wrong pin, an untrusted certificate)."""

    def __init__(self, setting: str = "lxd:remote") -> None:
        self.asked = 0
        self.setting = setting

    def client(self, project: str = "default") -> Any:
        self.asked += 1
        raise ConnectionSetupError(self.setting, "cannot use https://lxd.example:8443", "fix the setting")


@pytest.mark.parametrize("connection", [None, Silent()], ids=["not configured", "unreachable"])
def test_what_needs_the_server_is_skipped_when_it_cannot_answer(connection: Silent | None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached_image, "remote_image_problem", lambda _source: None)
    plugin = LxdProvider()
    plugin._connection = connection  # type: ignore[assignment]
    news = {**WEB, "image": "debian/nope", "target": "m9", "config": {"limits.cpus": "2"}}
    [line] = engine_lines(plugin, INSTANCE, "web", news)
    assert "limits.cpus is not an LXD 5.0 instance option" in line  # what needs no server is still checked
    assert engine_lines(plugin, VOLUME, "data", {"name": "data", "pool": "fast", "config": {"x": "1"}}) == []
    assert engine_lines(plugin, IMAGE, "base", {"sourceRemote": "https://images.example",
                                                "sourceImage": "alpine/3.23", "aliases": ["a"]}) == []
    if connection is not None:
        assert connection.asked == 1, "once the server did not answer, the run's other checks do not wait for it"


@pytest.mark.parametrize("setting", ["lxd:serverFingerprint", "lxd:trustPassword", "lxd:clientCert"])
def test_a_server_that_refuses_our_settings_fails_the_check_naming_the_setting(
        setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached_image, "remote_image_problem", lambda _source: None)
    plugin = LxdProvider()
    plugin._connection = Silent(setting)  # type: ignore[assignment]
    with pytest.raises(ConnectionSetupError, match=setting):
        engine_lines(plugin, INSTANCE, "web", {**WEB, "image": "debian/nope"})


def test_a_server_that_stops_answering_mid_check_is_skipped(provider: LxdProvider, fake: FakeLxd) -> None:
    fake.fail("GET", r"/images/aliases/.*", kind="connection", times=99)
    assert engine_lines(provider, INSTANCE, "web", {**WEB, "image": "debian/nope"}) == []
    assert engine_lines(provider, VOLUME, "data", {"name": "data", "pool": "fast"}) == [], "not asked again"
    assert not any(path.startswith("/storage-pools") for _, path in fake.calls)


def test_references_are_looked_up_in_the_declarations_project(provider: LxdProvider, fake: FakeLxd) -> None:
    fake.add_project("team-a")  # its own profiles (features.profiles), the default project's images are not
    fake.in_project("team-a").profiles["small"] = {"name": "small", "config": {}, "devices": {}, "description": ""}
    in_team = {**WEB, "project": "team-a", "profiles": ["small"]}
    assert [line.split(" value ")[0].rsplit(" ", 1)[1] for line in engine_lines(provider, INSTANCE, "web", in_team)] \
        == ["image"]
    [line] = engine_lines(provider, INSTANCE, "web", {**WEB, "profiles": ["small"]})
    assert 'profile "small" does not exist' in line


def test_a_project_declared_in_the_program_counts_as_there_and_its_objects_wait_for_up(
        provider: LxdProvider) -> None:
    [line] = engine_lines(provider, INSTANCE, "web", {**WEB, "project": "team-b"})
    assert 'property project value \'team-b\'' in line and "declare it with lxd.Project" in line
    assert engine_lines(provider, PROJECT, "team-b", {"name": "team-b", "config": {"limits.instances": "5"}}) == []
    # the project is made first at `up`: what is in it (its image, its profiles) is checked there
    assert engine_lines(provider, INSTANCE, "web", {**WEB, "project": "team-b", "image": "debian/nope"}) == []
    assert engine_lines(provider, SNAPSHOT, "snap", {"name": "snap", "instance": "web-0", "project": "team-b"}) == []


def test_an_incus_server_is_checked_against_what_incus_takes() -> None:
    """Incus 6.0 renamed security.devlxd to security.guestapi and dropped fan bridges: a preview against it
    refuses what Incus would refuse, with Incus' documentation, and takes what only Incus takes."""
    incus = FakeLxd.cluster(server="incus")
    incus.add_image("a" * 64, aliases=("debian/stable",))
    plugin = LxdProvider()
    plugin._connection = FakeConnection(incus)  # type: ignore[assignment]
    assert engine_lines(plugin, INSTANCE, "web", {**WEB, "config": {"security.guestapi": "false"}}) == []
    [renamed] = engine_lines(plugin, INSTANCE, "web", {**WEB, "config": {"security.devlxd": "false"}})
    assert "security.devlxd is not an Incus 6.0 instance option" in renamed
    assert "linuxcontainers.org/incus/docs/main/reference/instance_options/" in renamed
    [fan] = engine_lines(plugin, NETWORK, "lan", {"name": "lan0", "config": {"bridge.mode": "fan"}})
    assert "bridge.mode is not an Incus 6.0 bridge network option" in fan


def test_an_lxd_server_refuses_what_only_incus_takes(provider: LxdProvider) -> None:
    [line] = engine_lines(provider, INSTANCE, "web", {**WEB, "config": {"security.guestapi": "false"}})
    assert "security.guestapi is not an LXD 5.0 instance option" in line
