"""Forming the dqlite cluster from the member daemons (preseeds, join tokens), and trusting the
lab's client. Re-running is safe: each member is checked and only joined when it is not yet."""

from __future__ import annotations

import secrets
import time

import yaml

from lab import storage
from lab.config import API_PORT, LabConfig, Member
from lab.files import read_secret, write_secret
from lab.log import say
from lab.lxdapi import LocalLxd, LxdApiError, q
from lab.members import lxd_env, reset_daemon
from lab.pki import der_base64, fingerprint
from lab.proc import LabError, ProcessTable, run

CLIENT_CERT_NAME = "lxdha-lab-client"


def bootstrap_preseed(member: Member, storage_driver: str) -> str:
    return yaml.safe_dump({
        "config": {"core.https_address": f"{member.address}:{API_PORT}",
                   "images.auto_update_interval": "0"},
        "storage_pools": [storage.bootstrap_pool(storage_driver)],
        "profiles": [{"name": "default", "devices": {
            "root": {"path": "/", "pool": "default", "type": "disk"},
            "eth0": {"name": "eth0", "nictype": "bridged", "parent": "br0", "type": "nic"}}}],
        "cluster": {"server_name": member.name, "enabled": True},
    })


def join_preseed(member: Member, token: str, storage_driver: str) -> str:
    return yaml.safe_dump({"cluster": {
        "enabled": True, "server_name": member.name, "server_address": f"{member.address}:{API_PORT}",
        "cluster_token": token,
        "member_config": storage.join_member_config(storage_driver)}})


def is_clustered(member: Member) -> bool:
    return bool(LocalLxd(member.lxd_dir).server()["environment"].get("server_clustered"))


def lxd_init(member: Member, preseed: str) -> None:
    # the preseed goes through stdin only: join tokens are secrets
    run(["lxd", "init", "--preseed"], input=preseed, env=lxd_env(member.lxd_dir), timeout=180)


def _init_once(config: LabConfig, member: Member, preseed: str) -> None:
    """Runs the member's preseed; a member whose earlier attempt was interrupted is wiped first."""
    stamp = member.lxd_dir / ".lab-init-attempted"
    if stamp.exists():
        say(f"{member.name}: an earlier bootstrap/join did not finish; resetting the member")
        reset_daemon(ProcessTable(config.run_dir), member.name, member.netns, member.lxd_dir)
    stamp.write_text("")
    lxd_init(member, preseed)
    if not is_clustered(member):
        raise LabError(f"{member.name}: `lxd init --preseed` succeeded but the member is not clustered")
    stamp.unlink()


def bootstrap(config: LabConfig) -> None:
    first = config.members[0]
    if is_clustered(first):
        return
    _init_once(config, first, bootstrap_preseed(first, config.storage_driver))


def ensure_cluster_certificate(config: LabConfig) -> None:
    """Replaces the certificate LXD generated at bootstrap with the lab's (which names the LB and
    member addresses); LXD distributes it to every member, and joiners receive it."""
    cert_pem = (config.pki_dir / "cluster.crt").read_text()
    api = LocalLxd(config.members[0].lxd_dir)
    if fingerprint(api.get("/1.0")["environment"]["certificate"]) == fingerprint(cert_pem):
        return
    api.sync("PUT", "/1.0/cluster/certificate", {
        "cluster_certificate": cert_pem,
        "cluster_certificate_key": (config.secrets_dir / "cluster.key").read_text()})


def cluster_members(config: LabConfig, via: Member | None = None) -> dict[str, dict]:
    api = LocalLxd((via or config.members[0]).lxd_dir)
    return {m["server_name"]: m for m in api.get("/1.0/cluster/members?recursion=1")}


def _drop_stale_join(api: LocalLxd, name: str) -> None:
    """Removes what an interrupted join of `name` left in the cluster: a member row or a token."""
    try:
        api.request("DELETE", f"/1.0/cluster/members/{q(name)}?force=1")
        say(f"removed stale cluster member entry {name}")
    except LxdApiError as error:
        if error.status != 404:
            raise
    for op in api.get("/1.0/operations?recursion=1").get("running", []) or []:
        if op.get("class") == "token" and (op.get("metadata") or {}).get("serverName") == name:
            api.request("DELETE", f"/1.0/operations/{op['id']}")


def _join_token(config: LabConfig, name: str) -> str:
    first = config.members[0]
    env = lxd_env(first.lxd_dir)
    env["LXD_CONF"] = str(config.lab_dir / "lxc-client")
    return run(["lxc", "cluster", "add", name, "--quiet"], env=env, timeout=60).stdout.strip()


def join(config: LabConfig, member: Member) -> None:
    if is_clustered(member):
        return
    api = LocalLxd(config.members[0].lxd_dir)
    _drop_stale_join(api, member.name)
    if (member.lxd_dir / ".lab-init-attempted").exists():
        reset_daemon(ProcessTable(config.run_dir), member.name, member.netns, member.lxd_dir)
        (member.lxd_dir / ".lab-init-attempted").unlink(missing_ok=True)
    _init_once(config, member, join_preseed(member, _join_token(config, member.name), config.storage_driver))


def trust_client(config: LabConfig, cert_pem: str) -> None:
    api = LocalLxd(config.members[0].lxd_dir)
    try:
        api.get(f"/1.0/certificates/{fingerprint(cert_pem)}")
        return
    except LxdApiError as error:
        if error.status != 404:
            raise
    api.sync("POST", "/1.0/certificates", {"name": CLIENT_CERT_NAME, "type": "client",
                                          "certificate": der_base64(cert_pem)})


def ensure_trust_password(config: LabConfig) -> None:
    """LXD 5.0's first-contact secret (`core.trust_password`), kept only in a 0600 file."""
    path = config.secrets_dir / "trust-password"
    if not path.exists():
        write_secret(path, secrets.token_hex(16))
    api = LocalLxd(config.members[0].lxd_dir)
    current = api.get("/1.0")["config"]
    if current.get("core.trust_password") is None or not current.get("core.trust_password"):
        api.sync("PATCH", "/1.0", {"config": {"core.trust_password": read_secret(path)}})


def wait_all_online(config: LabConfig, timeout: float = 120) -> dict[str, dict]:
    """Waits until every member reports ONLINE, asking any member daemon that answers."""
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    while True:
        for via in config.members:
            try:
                members = cluster_members(config, via)
            except LabError:
                continue
            last = {name: m["status"] for name, m in members.items()}
            if len(members) == config.member_count and all(s == "Online" for s in last.values()):
                return members
            break
        if time.monotonic() >= deadline:
            raise LabError(f"cluster members not all ONLINE after {timeout:.0f}s: {last}")
        time.sleep(1)


def ensure_profile(config: LabConfig, name: str, profile_config: dict[str, str], description: str) -> None:
    api = LocalLxd(config.members[0].lxd_dir)
    try:
        current = api.get(f"/1.0/profiles/{q(name)}")
    except LxdApiError as error:
        if error.status != 404:
            raise
        api.sync("POST", "/1.0/profiles", {"name": name, "config": profile_config, "description": description,
                                           "devices": {}})
        return
    if any(current["config"].get(k) != v for k, v in profile_config.items()):
        api.sync("PATCH", f"/1.0/profiles/{q(name)}", {"config": profile_config})
