"""Faults for tests and demos: crash or restart a member daemon, cut a member off the segment and
heal it, stop and start the S3 host; and a way into a container that needs no LXD call (to see what a
cut-off member's containers do). Each acts only on the lab's own processes and links."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

from cluster.polling import wait_until
from lab.cluster import statuses_seen
from lab.config import LabConfig
from lab.members import kill_daemon, shutdown_daemon, start_until_ready
from lab.net import host_veth_is_up, set_host_veth
from lab.proc import LabError, ProcessTable
from lab.site import start_s3, stop_s3

log = logging.getLogger(__name__)

CONTAINER_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


def _table(config: LabConfig) -> ProcessTable:
    return ProcessTable(config.run_dir)


def kill_member(config: LabConfig, name: str) -> int:
    """kill -9 the member's LXD daemon (its containers keep running); returns the PID killed."""
    config.member(name)
    pid = kill_daemon(_table(config), name)
    log.info(f"killed LXD daemon of {name} (pid {pid}) with SIGKILL")
    return pid


def member_status(config: LabConfig, name: str) -> str | None:
    """The cluster's view of one member ("Online", "Offline", ...), asked of any other live member."""
    return statuses_seen(config, skip=name).get(name)


def wait_member_status(config: LabConfig, name: str, status: str, timeout: float = 90) -> None:
    wait_until(lambda: member_status(config, name) == status, timeout_s=timeout, poll_s=1,
               what=f"member {name} {status}")


def restart_member(config: LabConfig, name: str, *, wait_online: bool = True, timeout: float = 120) -> None:
    """Stops the daemon if it runs (cleanly), starts it again in its namespaces, waits for ONLINE."""
    member = config.member(name)
    table = _table(config)
    shutdown_daemon(table, name, member.lxd_dir, config.server, timeout=30)
    start_until_ready(table, name, member.lxd_dir, config.server, timeout=timeout)
    if wait_online:
        wait_member_status(config, name, "Online", timeout=timeout)
    log.info(f"member {name} restarted")


def cut_member(config: LabConfig, name: str) -> None:
    """Takes the member's only link to the segment down (host side of its veth)."""
    set_host_veth(config.member(name).host_veth, up=False)
    log.info(f"member {name} cut off the lab segment")


def heal_member(config: LabConfig, name: str) -> None:
    set_host_veth(config.member(name).host_veth, up=True)
    log.info(f"member {name} reconnected to the lab segment")


def member_is_cut(config: LabConfig, name: str) -> bool:
    return not host_veth_is_up(config.member(name).host_veth)


def stop_site_s3(config: LabConfig) -> None:
    stop_s3(config, _table(config))
    log.info("S3 server stopped")


def start_site_s3(config: LabConfig) -> None:
    start_s3(config, _table(config))
    log.info("S3 server started")


def rotate_cluster_certificate(config: LabConfig) -> str:
    """Gives the cluster a new certificate (as an operator rotating it would): the lab issues a new pair,
    LXD distributes it to every member, lab.json and the pinned file follow. Returns the new fingerprint."""
    from lab.up import up  # the lab's own idempotent path makes and installs a missing pair

    (config.pki_dir / "cluster.crt").unlink(missing_ok=True)
    (config.secrets_dir / "cluster.key").unlink(missing_ok=True)
    info = up(config)
    new = info.data["lxd"]["server_fingerprint"]
    log.info(f"cluster certificate rotated: now {new[:16]}...")
    return new


def container_init_pid(name: str) -> int | None:
    """The host PID of a running container's init, found in /proc without asking LXD (a cut-off member's
    daemon cannot reach the cluster database, and refuses even an exec). liblxc names the cgroup
    lxc.payload.NAME, or NAME-1, -2... when an earlier run of the same name left its cgroup behind."""
    own = re.compile(rf"/lxc\.payload\.{re.escape(name)}(-\d+)?(/.*)?")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cgroups = (entry / "cgroup").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue  # ended while we looked
        paths = {line.split(":", 2)[2] for line in cgroups.splitlines() if line.count(":") >= 2}
        if not any(own.fullmatch(path) for path in paths):
            continue
        nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
        if nspid and nspid[-1] == "1":
            return int(entry.name)
    return None


def _payload_cgroups() -> set[str]:
    found = set()
    for cgroup in Path("/proc").glob("[0-9]*/cgroup"):
        try:
            found.update(re.findall(r"lxc\.payload\.[^/\n]+", cgroup.read_text()))
        except OSError:
            continue
    return found


def run_in_container(name: str, argv: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    """Runs `argv` inside a running container by entering its init's namespaces (see container_init_pid)."""
    pid = container_init_pid(name)
    if pid is None:
        raise LabError(f"container {name} is not running on this host (container cgroups here: "
                       f"{', '.join(sorted(_payload_cgroups())) or 'none'})")
    return subprocess.run(["nsenter", "-t", str(pid), "-a", "--", *argv], capture_output=True, text=True,
                          timeout=timeout_s, check=False, env=CONTAINER_ENV)
