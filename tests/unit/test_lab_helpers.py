"""Pure helpers of the lab: names/addresses, generated configs, certificates, lab.json."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from lab import cli, cluster, dhcp, images, lb, mirror, storage
from lab.backend import LXD
from lab.config import DHCP_RANGE, VIP_RANGE, LabConfig, in_dhcp_range
from lab.files import write_public, write_secret
from lab.info import build_info
from lab.pki import der_base64, fingerprint, issue_self_signed
from lab.proc import ProcessTable, is_running
from tests.support.fake_lxd import FakeLxd


def _config(tmp_path: Path, members: int = 3) -> LabConfig:
    return LabConfig(lab_dir=tmp_path / "lab", cache_dir=tmp_path / "cache", member_count=members)


def test_members_have_distinct_addresses_names_and_dirs(tmp_path: Path) -> None:
    config = _config(tmp_path, 9)
    members = config.members
    assert [m.name for m in members] == [f"m{i}" for i in range(1, 10)]
    addresses = {m.address for m in members} | {config.lb.address, config.image_remote.address,
                                                  config.site.address, config.gateway}
    assert len(addresses) == 9 + 4
    assert all(len(name) <= 15 for name in [m.host_veth for m in members] + [config.site.host_veth])
    assert len(set(config.netns_names)) == len(config.netns_names)
    assert all(str(m.lxd_dir).startswith(str(config.lab_dir)) for m in members)


@pytest.mark.parametrize("count", [0, 10])
def test_member_count_is_bounded(tmp_path: Path, count: int) -> None:
    with pytest.raises(ValueError):
        _config(tmp_path, count)


def test_refuses_the_hosts_own_lxd_dir() -> None:
    with pytest.raises(ValueError):
        LabConfig(lab_dir=Path("/var/lib/lxd"))


def test_dhcp_range_excludes_vips_and_fixed_addresses(tmp_path: Path) -> None:
    config = _config(tmp_path, 9)
    low, high = (ipaddress.IPv4Address(a) for a in DHCP_RANGE)
    vip_low, vip_high = (ipaddress.IPv4Address(a) for a in VIP_RANGE)
    assert high < vip_low <= vip_high
    for fixed in [config.gateway, config.lb.address, config.image_remote.address, config.site.address,
                  *(m.address for m in config.members)]:
        assert not in_dhcp_range(fixed)
    args = dhcp.dnsmasq_args(config)
    assert "--port=0" in args and "--no-ping" in args and f"--interface={config.bridge}" in args
    assert "--bind-interfaces" in args and "--dhcp-option=3" in args  # no router handed out
    assert any(a.startswith(f"--dhcp-range={low},{high},") for a in args)


def test_haproxy_config_checks_every_member_and_balances_first(tmp_path: Path) -> None:
    config = _config(tmp_path, 4)
    text = lb.haproxy_config(config)
    assert "mode tcp" in text and "balance first" in text and "option redispatch" in text
    for member in config.members:
        assert f"server {member.name} {member.address}:8443 check" in text
    assert f"bind {config.lb.address}:8443" in text


def test_preseeds(tmp_path: Path) -> None:
    config = _config(tmp_path)
    boot = yaml.safe_load(cluster.bootstrap_preseed(config.members[0], "btrfs"))
    assert boot["cluster"] == {"server_name": "m1", "enabled": True}
    assert boot["config"]["images.auto_update_interval"] == "0"
    assert boot["profiles"][0]["devices"]["eth0"]["parent"] == "br0"
    assert boot["storage_pools"] == [{"name": "default", "driver": "btrfs", "config": {"size": storage.POOL_SIZE}}]
    join = yaml.safe_load(cluster.join_preseed(config.members[1], "TOKEN", "btrfs"))["cluster"]
    assert join["cluster_token"] == "TOKEN" and join["server_address"] == "10.91.0.12:8443"
    assert {(c["key"], c["value"]) for c in join["member_config"]} == {("source", ""), ("size", storage.POOL_SIZE)}


def test_dir_storage_preseeds_have_no_size(tmp_path: Path) -> None:
    config = _config(tmp_path)
    boot = yaml.safe_load(cluster.bootstrap_preseed(config.members[0], "dir"))
    assert boot["storage_pools"] == [{"name": "default", "driver": "dir"}]
    join = yaml.safe_load(cluster.join_preseed(config.members[1], "TOKEN", "dir"))["cluster"]
    assert [(c["key"], c["value"]) for c in join["member_config"]] == [("source", "")]


def test_storage_driver_comes_from_the_environment_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STORAGE", "dir")
    assert LabConfig.from_env().storage_driver == "dir"
    monkeypatch.delenv("LAB_STORAGE")
    assert LabConfig.from_env().storage_driver == "btrfs"
    monkeypatch.setenv("LAB_STORAGE", "zfs")
    with pytest.raises(ValueError, match="LAB_STORAGE must be one of btrfs, dir"):
        LabConfig.from_env()


def test_loop_devices_backed_by_lab_files_are_found(tmp_path: Path) -> None:
    sysfs = tmp_path / "sys"
    for device, backing in (("loop0", "/var/lib/lxdha-lab/members/m1/disks/default.img"),
                            ("loop1", "/var/lib/other/disk.img"),
                            ("loop2", "/var/lib/lxdha-lab/members/m2/disks/default.img (deleted)")):
        (sysfs / device / "loop").mkdir(parents=True)
        (sysfs / device / "loop" / "backing_file").write_text(backing + "\n")
    (sysfs / "loop3").mkdir()  # not attached: no loop/ directory
    found = storage.loop_devices_under(Path("/var/lib/lxdha-lab"), sysfs)
    assert found == {"/dev/loop0": "/var/lib/lxdha-lab/members/m1/disks/default.img",
                     "/dev/loop2": "/var/lib/lxdha-lab/members/m2/disks/default.img (deleted)"}
    assert storage.loop_devices_under(Path("/var/lib/lxdha-lab-other"), sysfs) == {}


def test_self_signed_certificate_names_its_addresses() -> None:
    cert_pem, key_pem = issue_self_signed("x", ips=["10.91.0.10", "10.91.0.11"], dns=["lxdha-cluster"])
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"10.91.0.10", "10.91.0.11"}
    assert len(fingerprint(cert_pem)) == 64 and "PRIVATE KEY" in key_pem
    assert "-----" not in der_base64(cert_pem)


def test_pool_names_drop_the_epoch() -> None:
    assert (mirror.pool_name("openssh-server_1%3a9.2p1-2+deb12u5_amd64.deb")
            == "openssh-server_9.2p1-2+deb12u5_amd64.deb")
    assert mirror.pool_name("python3_3.11.2-1+b1_amd64.deb") == "python3_3.11.2-1+b1_amd64.deb"


@given(st.from_regex(r"[a-z0-9][a-z0-9.+-]{0,20}", fullmatch=True), st.integers(0, 99),
       st.from_regex(r"[0-9][a-z0-9.+~-]{0,12}", fullmatch=True))
def test_pool_name_never_keeps_an_encoded_colon(name: str, epoch: int, version: str) -> None:
    result = mirror.pool_name(f"{name}_{epoch}%3a{version}_amd64.deb")
    assert "%3a" not in result and result == f"{name}_{version}_amd64.deb"


def test_the_newer_suite_serves_only_the_packages_pinned_to_it() -> None:
    """Debian 13 is below Debian 12's default priority (500) for every package but Patroni's own few."""
    general, specific = mirror._newer_suite_pins().strip().split("\n\n")
    assert general.splitlines() == ["Package: *", f"Pin: release n={mirror.NEWER_SUITE}", "Pin-Priority: 100"]
    assert specific.splitlines()[0] == f"Package: {' '.join(mirror.FROM_NEWER_SUITE)}"
    assert specific.splitlines()[2] == "Pin-Priority: 990" and "patroni" in mirror.FROM_NEWER_SUITE


def test_recipe_hash_is_stable_and_short() -> None:
    assert images.recipe_hash() == images.recipe_hash() and len(images.recipe_hash()) == 16


def test_lab_json_names_secret_files_but_holds_no_secret(tmp_path: Path) -> None:
    config = _config(tmp_path)
    cert_pem, _ = issue_self_signed("c")
    info = build_info(config, cluster_cert_pem=cert_pem, image_remote_cert_pem=cert_pem, image_fingerprint="f" * 64,
                      mirror_key_fingerprint="ABC", mirror_packages=["openssh-server"])
    text = json.dumps(info)
    assert "PRIVATE KEY" not in text
    assert info["lxd"]["server_fingerprint"] == fingerprint(cert_pem)
    assert info["s3"]["access_key_file"].startswith(str(config.secrets_dir))
    assert info["network"]["vip_range"] == list(VIP_RANGE)
    assert [m["address"] for m in info["lxd"]["members"]] == ["10.91.0.11", "10.91.0.12", "10.91.0.13"]
    flat: dict[str, str] = {}
    cli._flatten("LAB", info, flat)
    assert "LAB_LXD_URL" in flat and not any(key.endswith("_PEM") for key in flat)


def test_secret_files_are_never_readable_by_others(tmp_path: Path) -> None:
    write_secret(tmp_path / "s" / "key", "x")
    write_public(tmp_path / "p", "y")
    assert stat.S_IMODE((tmp_path / "s" / "key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o644


def test_process_table_only_signals_its_own_process(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path / "run")
    marker = f"probe:{tmp_path}"
    # the marker appears only once exec'd (as the holder processes do it)
    daemon = table.spawn("probe", ["bash", "-c", 'exec -a "probe:$1" sleep 30', "probe", str(tmp_path)],
                         marker=marker, log_path=tmp_path / "probe.log")
    assert table.running("probe") == daemon
    forged = daemon.__class__("probe", daemon.pid, daemon.started + 1, marker)  # PID reused by another process
    assert not forged.alive()
    daemon.stop(term_timeout=5)
    assert not is_running(daemon.pid) and table.running("probe") is None
    # a foreign process is never ours, whatever its pid file says
    other = subprocess.Popen(["sleep", "30"])
    try:
        table.record("foreign", other.pid, marker)
        assert table.running("foreign") is None
    finally:
        other.kill()
        other.wait()


def test_alpine_rootfs_fixes(tmp_path: Path) -> None:
    from lab import alpine

    etc = tmp_path / "etc"
    (etc / "network").mkdir(parents=True)
    (etc / "runlevels" / "boot").mkdir(parents=True)
    (etc / "runlevels" / "sysinit").mkdir(parents=True)
    (etc / "inittab").write_text("::sysinit:/sbin/openrc sysinit\ntty1::respawn:/sbin/getty 38400 tty1\n")
    (etc / "network" / "interfaces").write_text("auto eth0\niface eth0 inet static\n")
    (etc / "dhcpcd.conf").write_text("duid\n")
    (etc / "runlevels" / "boot" / "quicksand-guest-agent").symlink_to("/etc/init.d/quicksand-guest-agent")
    (etc / "runlevels" / "sysinit" / "setup-dns").symlink_to("/etc/init.d/setup-dns")
    alpine._fix_rootfs(tmp_path)
    inittab = (etc / "inittab").read_text()
    assert "#tty1::respawn" in inittab and "console::respawn:/sbin/getty" in inittab
    assert "iface eth0 inet dhcp" in (etc / "network" / "interfaces").read_text()
    assert "noarp" in (etc / "dhcpcd.conf").read_text()
    assert not (etc / "runlevels" / "boot" / "quicksand-guest-agent").is_symlink()
    assert not (etc / "runlevels" / "sysinit" / "setup-dns").is_symlink()


def test_a_daemon_that_exits_while_starting_is_started_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab import members

    (tmp_path / "daemon.out").write_text("Error: Failed to start the daemon: no available dqlite leader server found\n")
    starts: list[str] = []
    outcomes = iter([members.DaemonExited("LXD daemon m1 exited while starting"), None])

    def wait(*_args: object, **_kwargs: object) -> None:
        outcome = next(outcomes)
        if outcome:
            raise outcome

    monkeypatch.setattr(members, "start_daemon", lambda _t, name, _d, _b: starts.append(name))
    monkeypatch.setattr(members, "wait_daemon_ready", wait)
    monkeypatch.setattr(members, "RESTART_DELAY_S", 0)
    members.start_until_ready(ProcessTable(tmp_path), "m1", tmp_path, LXD, timeout=10)
    assert starts == ["m1", "m1"]

    monkeypatch.setattr(members, "wait_daemon_ready", lambda *_a, **_k: (_ for _ in ()).throw(
        members.DaemonExited("LXD daemon m1 exited while starting")))
    with pytest.raises(members.DaemonExited):
        members.start_until_ready(ProcessTable(tmp_path), "m1", tmp_path, LXD, timeout=10)
    assert len(starts) == 2 + members.STARTUP_ATTEMPTS
    assert "no available dqlite leader" in members.startup_log_tail(tmp_path, LXD)


def test_resolve_keeps_the_running_labs_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    monkeypatch.delenv("LAB_MEMBERS", raising=False)
    monkeypatch.delenv("LAB_STORAGE", raising=False)
    assert (LabConfig.resolve().member_count, LabConfig.resolve().storage_driver) == (3, "btrfs")
    (tmp_path / "state.json").write_text(json.dumps({"members": 5}))  # a lab from before the storage setting
    assert (LabConfig.resolve().member_count, LabConfig.resolve().storage_driver) == (5, "dir")
    (tmp_path / "state.json").write_text(json.dumps({"members": 4, "storage": "btrfs"}))
    assert (LabConfig.resolve().member_count, LabConfig.resolve().storage_driver) == (4, "btrfs")
    monkeypatch.setenv("LAB_STORAGE", "dir")
    assert LabConfig.resolve().storage_driver == "dir"  # asked for explicitly: `up` then refuses the mismatch


@pytest.mark.parametrize("server", ["lxd", "incus"])
def test_the_image_remote_publishes_a_public_image_on_either_server(tmp_path: Path, server: str) -> None:
    """Incus reads X-Incus-public only: sent as X-LXD-public, the remote would hold a private image that no
    cluster can pull."""
    tarball = tmp_path / "bookworm.tar.gz"
    tarball.write_bytes(b"an image")
    fingerprint = hashlib.sha256(b"an image").hexdigest()
    fake = FakeLxd.cluster(server=server)
    images._publish(fake.client(), images.BuiltImage(tarball, fingerprint, tmp_path / "status"), ("debian/12",))
    assert fake.images[fingerprint]["public"] and fake.images[fingerprint]["filename"] == "bookworm.tar.gz"
    assert fake.aliases["debian/12"]["target"] == fingerprint
