"""The lab itself, end to end on the real machine: cluster through the load balancer, image remote,
DHCP, signed package mirror on S3, faults, and a teardown that leaves nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pylxd
import pytest
import requests

from cluster.connection import ensure_trusted
from cluster.facts import read_instance
from cluster.images import copy_image
from cluster.operations import execute, push_file
from cluster.polling import wait_until
from cluster.steps import ensure_deleted, ensure_launched, ensure_stopped, wait_for_ipv4
from lab import lb, site
from lab.cluster import issue_trust_token
from lab.config import (
    BACKUP_BUCKET,
    IMAGE_ALIASES,
    MIRROR_BUCKET,
    MIRROR_SUITE,
    REGISTRY_BUCKET,
    VIP_RANGE,
    in_dhcp_range,
)
from lab.info import LabInfo
from lab.pki import fingerprint, issue_self_signed, presented_certificate
from lab.proc import ProcessTable
from lab.teardown import down, verify_clean
from lab.up import up

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _lb_get(info: LabInfo, session: requests.Session, path: str = "/1.0") -> requests.Response:
    return session.get(f"{info.lb_url}{path}", timeout=10)


def _pinned_session(info: LabInfo) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(info.server_cert)  # the cluster cert names the LB address: plain verification works
    session.cert = (str(info.client_cert), str(info.client_key))
    return session


def test_all_members_online_through_the_load_balancer(lab: LabInfo) -> None:
    client = lab.lxd_client()
    assert client.trusted
    members = {m.server_name: m.status for m in client.cluster.members.all()}
    assert members == {name: "Online" for name in lab.member_names}
    assert lb.server_states(lab.config) == {name: "UP" for name in lab.member_names}


def test_every_member_pool_uses_the_configured_driver(lab: LabInfo) -> None:
    pool = lab.lxd_client().storage_pools.get("default")
    assert pool.driver == lab.data["lxd"]["storage_driver"] == lab.config.storage_driver
    for member in lab.config.members:  # the loop file is the member's own, in its LXD dir
        if lab.config.storage_driver == "btrfs":
            assert (member.lxd_dir / "disks" / "default.img").is_file()


def test_load_balancer_presents_the_pinned_cluster_certificate(lab: LabInfo, monkeypatch) -> None:
    pinned = lab.data["lxd"]["server_fingerprint"]
    assert fingerprint(lab.server_cert.read_text()) == pinned
    assert fingerprint(presented_certificate(lab.config.lb.address, 8443)) == pinned
    for member in lab.config.members:  # one shared cluster certificate
        assert fingerprint(presented_certificate(member.address, 8443)) == pinned
    # pylxd's own pinning (verify=<cert path>) — with the CA-bundle variables of this machine cleared,
    # since requests would otherwise substitute them for the path
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    client = pylxd.Client(endpoint=lab.lb_url, cert=(str(lab.client_cert), str(lab.client_key)),
                          verify=str(lab.server_cert), timeout=30)
    assert client.trusted
    assert _lb_get(lab, _pinned_session(lab)).json()["metadata"]["auth"] == "trusted"


def test_a_trust_secret_admits_a_new_client(lab: LabInfo, tmp_path: Path, monkeypatch) -> None:
    """LXD's trust password, or on Incus a trust token, through our own first contact (ensure_trusted)."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    cert_pem, key_pem = issue_self_signed("lxdha-t-newcomer", server=False)
    (tmp_path / "c.crt").write_text(cert_pem)
    (tmp_path / "c.key").write_text(key_pem)
    newcomer = pylxd.Client(endpoint=lab.lb_url, cert=(str(tmp_path / "c.crt"), str(tmp_path / "c.key")),
                            verify=str(lab.server_cert), timeout=30)
    assert not newcomer.trusted
    if lab.data["lxd"]["trust_password_file"]:
        password_file = Path(lab.data["lxd"]["trust_password_file"])
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        secret = password_file.read_text().strip()
    else:
        secret = issue_trust_token(lab.config, "lxdha-t-newcomer")
    ensure_trusted(newcomer, dataclasses.replace(lab.endpoint(), client_cert_pem=cert_pem, trust_password=secret))
    assert newcomer.trusted
    lab.lxd_client().api.certificates[fingerprint(cert_pem)].delete()


def test_lab_json_is_complete_and_holds_no_secrets(lab: LabInfo) -> None:
    out = subprocess.run([sys.executable, "-m", "lab", "env", "--json"], cwd=REPO, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    data = json.loads(out)
    assert data == json.loads(lab.config.info_path.read_text())
    assert data["lxd"]["url"] == "https://10.91.0.10:8443"
    assert [m["name"] for m in data["lxd"]["members"]] == lab.member_names
    assert data["image_remote"]["aliases"] == list(IMAGE_ALIASES)
    assert data["s3"]["buckets"] == {"mirror": MIRROR_BUCKET, "registry": REGISTRY_BUCKET, "backup": BACKUP_BUCKET}
    assert data["mirror"]["url"].endswith(f"/{MIRROR_BUCKET}") and data["mirror"]["suite"] == MIRROR_SUITE
    for key in ("server_cert", "client_cert"):
        assert Path(data["lxd"][key]).is_file()
    for path in filter(None, (data["lxd"]["client_key"], data["lxd"]["trust_password_file"],
                              data["s3"]["access_key_file"], data["s3"]["secret_key_file"])):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600, path
        secret = Path(path).read_text().strip()
        assert secret not in out, f"{path} leaked into lab.json"
    assert Path(data["mirror"]["key_armored"]).read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK")
    assert Path(data["mirror"]["key_binary"]).stat().st_size > 0


def test_image_is_pulled_from_the_image_remote(lab: LabInfo) -> None:
    client = lab.lxd_client()
    fp = copy_image(client, lab.image())["fingerprint"]
    assert fp == lab.data["image_remote"]["image_fingerprint"]
    assert client.images.get(fp).properties["release"] == "bookworm"


def test_container_on_each_member_gets_dhcp_and_installs_from_the_mirror(lab: LabInfo, lab_instances) -> None:
    client = lab.lxd_client()
    key = Path(lab.data["mirror"]["key_binary"]).read_bytes()
    names = {member: lab_instances(f"apt-{member}", member) for member in lab.member_names}
    for member, name in names.items():
        assert read_instance(client, name)["location"] == member
        address = wait_for_ipv4(client, name)
        assert in_dhcp_range(address), address
        assert not VIP_RANGE[0] <= address <= VIP_RANGE[1]
        push_file(client, name, "/etc/apt/keyrings/lxdha-mirror.gpg", key)
        push_file(client, name, "/etc/apt/sources.list", (lab.data["mirror"]["sources_line"] + "\n").encode())
        result = execute(client, name, [
            "sh", "-c", "rm -f /etc/apt/sources.list.d/* && apt-get update && apt-get install -y openssh-server "
                        "&& systemctl is-active ssh"], timeout_s=600, environment={"DEBIAN_FRONTEND": "noninteractive"})
        assert result.exit_code == 0, f"{name} on {member}: {result.stdout[-1500:]}\n{result.stderr[-1500:]}"
        assert "NO_PUBKEY" not in result.stderr and "not signed" not in result.stderr


def test_alpine_image_boots_gets_dhcp_and_stops_cleanly(lab: LabInfo) -> None:
    alpine = lab.data["image_remote"]["alpine"]
    assert alpine, "the lab serves an Alpine image unless LAB_ALPINE=0"
    client = lab.lxd_client()
    fp = copy_image(client, lab.image(alpine["alias"]))["fingerprint"]
    assert fp == alpine["image_fingerprint"]
    name = "lxdha-t-alpine"
    target = lab.member_names[-1]
    ensure_deleted(client, name)
    try:
        ensure_launched(client, name, fp, target, profiles=("default", alpine["profile"]))
        assert in_dhcp_range(wait_for_ipv4(client, name, timeout_s=30))
        assert execute(client, name, ["cat", "/etc/alpine-release"], timeout_s=60).stdout.startswith("3.23")
        # a clean stop that LXD does not give up on: busybox init halts on SIGUSR2 (profile), not SIGPWR
        ensure_stopped(client, name, force=False)
        assert read_instance(client, name)["status"] == "Stopped"
    finally:
        ensure_deleted(client, name)


def test_killing_the_member_the_lb_picks_first_keeps_the_api_answering(lab: LabInfo, lab_faults) -> None:
    """New connections keep being answered; a connection already open to the killed member is reset
    (that is TCP load balancing: clients retry idempotent calls), so each probe opens its own."""
    first = lb.first_healthy_member(lab.config)
    lab_faults.kill_member(first)
    errors: list[str] = []
    deadline = time.monotonic() + 15
    for _ in range(200):  # ~15 s of probes across the health check's reaction time
        if time.monotonic() >= deadline:
            break
        with _pinned_session(lab) as session:
            try:
                response = _lb_get(lab, session)
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}")
            except requests.RequestException as error:
                errors.append(str(error)[:200])
        time.sleep(0.05)
    assert errors == [], f"requests through the LB failed after {first} was killed: {errors}"
    session = _pinned_session(lab)
    lb.wait_server_state(lab.config, first, "DOWN", timeout=30)
    # cluster-wide calls answer too once the survivors have (re-)elected a leader
    wait_until(lambda: _lb_get(lab, session, "/1.0/instances").status_code == 200, timeout_s=60, poll_s=1,
               what="the cluster API answering through the load balancer", not_yet=(requests.RequestException,))
    lab_faults.wait_member_status(first, "Offline", timeout=90)
    lab_faults.restart_member(first)
    lab_faults.wait_member_status(first, "Online", timeout=90)
    lb.wait_server_state(lab.config, first, "UP", timeout=30)


def test_cut_and_heal_a_member(lab: LabInfo, lab_faults) -> None:
    victim = lab.member_names[-1]
    session = _pinned_session(lab)
    lab_faults.cut_member(victim)
    lb.wait_server_state(lab.config, victim, "DOWN", timeout=30)
    assert _lb_get(lab, session).status_code == 200
    if len(lab.member_names) >= 3:  # the others keep quorum and notice the loss
        lab_faults.wait_member_status(victim, "Offline", timeout=120)
    lab_faults.heal_member(victim)
    lb.wait_server_state(lab.config, victim, "UP", timeout=30)
    lab_faults.wait_member_status(victim, "Online", timeout=120)


def test_s3_stop_and_start(lab: LabInfo, lab_faults) -> None:
    s3 = lab.s3_client()
    s3.put_object(Bucket=REGISTRY_BUCKET, Key="lxdha-t/probe", Body=b"still here")
    anonymous = requests.Session()
    anonymous.trust_env = False
    private_url = f"{lab.data['s3']['endpoint']}/{REGISTRY_BUCKET}/lxdha-t/probe"
    assert anonymous.get(private_url, timeout=5).status_code == 403  # the registry bucket is private
    lab_faults.stop_s3()
    assert not site.s3_healthy(lab.config)
    with pytest.raises(requests.ConnectionError):
        anonymous.get(f"{lab.data['mirror']['url']}/dists/{MIRROR_SUITE}/InRelease", timeout=5)
    lab_faults.start_s3()
    assert site.mirror_serves(lab.config)
    assert s3.get_object(Bucket=REGISTRY_BUCKET, Key="lxdha-t/probe")["Body"].read() == b"still here"
    s3.delete_object(Bucket=REGISTRY_BUCKET, Key="lxdha-t/probe")


def _daemon_pids(config) -> dict[str, int | None]:
    table = ProcessTable(config.run_dir)
    return {name: getattr(table.running(name), "pid", None) for name in table.names()}


def test_up_is_idempotent(lab: LabInfo) -> None:
    """A second `up` finds everything in place: no daemon is started again, lab.json stays as it was."""
    before, daemons = lab.config.info_path.read_text(), _daemon_pids(lab.config)
    again = up(lab.config)
    assert again.data == json.loads(before)
    assert _daemon_pids(lab.config) == daemons


@pytest.mark.lab_rebuild
def test_down_leaves_nothing_and_up_resumes_after_an_interrupted_run(lab: LabInfo) -> None:
    """Last in the session (lab_rebuild): tears the lab down (must leave nothing), interrupts an `up` half-way,
    then checks that the next `up` completes — leaving the lab up for the session teardown."""
    config = lab.config
    assert down(config) == []
    assert verify_clean(config) == []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "lab", "up"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    interrupted_at = None
    watchdog = threading.Timer(120, process.kill)  # bounds the read loop even if `up` goes silent
    watchdog.start()
    assert process.stderr is not None
    try:
        for line in process.stderr:  # ends with the process (or the watchdog)
            if "up: join" in line or "up: cluster bootstrap" in line:
                process.send_signal(signal.SIGKILL)
                interrupted_at = line.strip()
                break
    finally:
        watchdog.cancel()
    process.wait(timeout=30)
    assert interrupted_at, "could not interrupt `lab up` half-way"
    resumed = up(config)
    assert {m.server_name: m.status for m in resumed.lxd_client().cluster.members.all()} == {
        name: "Online" for name in resumed.member_names}
