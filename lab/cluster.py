"""Forming the dqlite cluster from the member daemons (preseeds, join tokens), and trusting the
lab's client. Re-running is safe: each member is checked and only joined when it is not yet."""

from __future__ import annotations

import contextlib
import logging
import secrets

import yaml
from pylxd.exceptions import ClientConnectionFailed, LXDAPIException, NotFound

from cluster.facts import MemberFact, read_members
from cluster.operations import get_or_none, send_and_wait
from cluster.polling import WaitTimeout, wait_until
from lab import storage
from lab.config import API_PORT, LabConfig, Member
from lab.files import read_secret, write_secret
from lab.members import daemon_client, reset_daemon
from lab.pki import der_base64, fingerprint
from lab.proc import LabError, ProcessTable, run

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 120

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
    return bool(daemon_client(member.lxd_dir).host_info["environment"].get("server_clustered"))


def server_init(config: LabConfig, member: Member, preseed: str) -> None:
    # the preseed goes through stdin only: join tokens are secrets
    run(config.server.init_argv(), input=preseed, env=config.server.env(member.lxd_dir), timeout=180)


def _init_once(config: LabConfig, member: Member, preseed: str) -> None:
    """Runs the member's preseed; a member whose earlier attempt was interrupted is wiped first."""
    stamp = member.lxd_dir / ".lab-init-attempted"
    if stamp.exists():
        log.info("%s: an earlier bootstrap/join did not finish; resetting the member", member.name)
        reset_daemon(ProcessTable(config.run_dir), member.name, member.netns, member.lxd_dir, config.server)
    stamp.write_text("")
    server_init(config, member, preseed)
    if not is_clustered(member):
        raise LabError(f"{member.name}: `{' '.join(config.server.init_argv())}` succeeded but the member is not "
                       "clustered")
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
    client = daemon_client(config.members[0].lxd_dir)
    if fingerprint(client.host_info["environment"]["certificate"]) == fingerprint(cert_pem):
        return
    key_pem = (config.secrets_dir / "cluster.key").read_text()
    body = {"cluster_certificate": cert_pem, "cluster_certificate_key": key_pem}
    send_and_wait(client, lambda: client.api.cluster.certificate.put(json=body), REQUEST_TIMEOUT_S,
                  "replace the cluster certificate")


def members_seen(config: LabConfig, skip: str | None = None) -> list[MemberFact] | None:
    """The cluster's members as the first member daemon (other than `skip`) that answers sees them;
    None when none does (a member may be down or cut off: any other one can tell)."""
    for via in config.members:
        if via.name == skip and len(config.members) > 1:
            continue
        try:
            return read_members(daemon_client(via.lxd_dir, timeout_s=20))
        except (ClientConnectionFailed, LXDAPIException, OSError):
            continue
    return None


def statuses_seen(config: LabConfig, skip: str | None = None) -> dict[str, str]:
    """name -> status of every member as `members_seen` finds them (empty when no daemon answers)."""
    return {member.name: member.status for member in members_seen(config, skip) or ()}


def _drop_stale_join(config: LabConfig, name: str) -> None:
    """Removes what an interrupted join of `name` left in the cluster: a member row or a token."""
    client = daemon_client(config.members[0].lxd_dir)
    with contextlib.suppress(NotFound):
        client.api.cluster.members[name].delete(params={"force": "1"})
        log.info("removed stale cluster member entry %s", name)
    operations = client.api.operations.get(params={"recursion": "1"}).json()["metadata"]
    for op in operations.get("running") or []:
        if op.get("class") == "token" and (op.get("metadata") or {}).get("serverName") == name:
            client.api.operations[op["id"]].delete()


def _client_command(config: LabConfig, argv: list[str]) -> str:
    """Runs the server's client CLI against the first member's socket; returns what it printed."""
    env = config.server.client_env(config.members[0].lxd_dir, config.lab_dir)
    return run(argv, env=env, timeout=60).stdout.strip()


def _join_token(config: LabConfig, name: str) -> str:
    return _client_command(config, config.server.cluster_add_argv(name))


def issue_trust_token(config: LabConfig, client_name: str) -> str:
    """A one-time token that lets a new client add its certificate (lxd:trustPassword takes it)."""
    return _client_command(config, config.server.trust_token_argv(client_name))


def join(config: LabConfig, member: Member) -> None:
    if is_clustered(member):
        return
    _drop_stale_join(config, member.name)
    if (member.lxd_dir / ".lab-init-attempted").exists():
        reset_daemon(ProcessTable(config.run_dir), member.name, member.netns, member.lxd_dir, config.server)
        (member.lxd_dir / ".lab-init-attempted").unlink(missing_ok=True)
    _init_once(config, member, join_preseed(member, _join_token(config, member.name), config.storage_driver))


def trust_client(config: LabConfig, cert_pem: str) -> None:
    client = daemon_client(config.members[0].lxd_dir)
    if get_or_none(client.api.certificates[fingerprint(cert_pem)]) is not None:
        return
    body = {"name": CLIENT_CERT_NAME, "type": "client", "certificate": der_base64(cert_pem)}
    send_and_wait(client, lambda: client.api.certificates.post(json=body), REQUEST_TIMEOUT_S, "trust the lab's client")


def ensure_trust_password(config: LabConfig) -> None:
    """LXD 5.0's first-contact secret (`core.trust_password`), kept only in a 0600 file. Incus has none: a
    new client there is trusted by a token (`incus config trust add`)."""
    if not config.server.trust_password:
        return
    path = config.secrets_dir / "trust-password"
    if not path.exists():
        write_secret(path, secrets.token_hex(16))
    client = daemon_client(config.members[0].lxd_dir)
    if not client.host_info["config"].get("core.trust_password"):
        body = {"config": {"core.trust_password": read_secret(path)}}
        send_and_wait(client, lambda: client.api.patch(json=body), REQUEST_TIMEOUT_S, "set core.trust_password")


def wait_all_online(config: LabConfig, timeout: float = 120) -> dict[str, str]:
    """Waits until every member reports ONLINE, asking any member daemon that answers."""
    seen: dict[str, str] = {}

    def all_online() -> bool:
        seen.clear()
        seen.update(statuses_seen(config))
        return len(seen) == config.member_count and all(status == "Online" for status in seen.values())

    try:
        wait_until(all_online, timeout_s=timeout, poll_s=1, what="every cluster member ONLINE")
    except WaitTimeout:
        raise LabError(f"cluster members not all ONLINE after {timeout:.0f}s: {seen}") from None
    return dict(seen)


def ensure_profile(config: LabConfig, name: str, profile_config: dict[str, str], description: str) -> None:
    client = daemon_client(config.members[0].lxd_dir)
    current = get_or_none(client.api.profiles[name])
    if current is None:
        body = {"name": name, "config": profile_config, "description": description, "devices": {}}
        send_and_wait(client, lambda: client.api.profiles.post(json=body), REQUEST_TIMEOUT_S, f"create profile {name}")
    elif any(current["config"].get(k) != v for k, v in profile_config.items()):
        send_and_wait(client, lambda: client.api.profiles[name].patch(json={"config": profile_config}),
                      REQUEST_TIMEOUT_S, f"update profile {name}")
