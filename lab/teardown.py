"""`lab down`: stop everything the lab started and remove everything it created, then prove it
(`verify_clean`). Only processes provably the lab's are signalled: daemons from its pid table
(PID + start time + command line), processes inside its own network namespaces, and container
payloads whose lxc monitor lives in one of those namespaces."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pylxd.exceptions import ClientConnectionFailed, LXDAPIException

from cluster.logs import step
from cluster.operations import OperationFailed, OperationTimeout, finish
from cluster.polling import holds_within
from lab import host_limits, storage
from lab.config import PREFIX, LabConfig
from lab.members import daemon_client, shutdown_daemon
from lab.mirror import stop_gpg_agent
from lab.net import delete_network, lab_links, lab_netns_names, netns_inode, netns_pids
from lab.proc import ProcessTable, all_pids, cmdline, exclusive, is_running, run

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
STOP_ALL_S = 120


def _member_dirs(config: LabConfig) -> list[Path]:
    root = config.lab_dir / "members"
    dirs = sorted(root.glob("m*")) if root.is_dir() else []
    return sorted(dirs, key=lambda p: int(p.name[1:]) if p.name[1:].isdigit() else 0)


def container_names(config: LabConfig) -> set[str]:
    names = set()
    for lxd_dir in [*_member_dirs(config), config.image_remote_dir]:
        containers = lxd_dir / "containers"
        if containers.is_dir():
            names.update(p.name for p in containers.iterdir())
    return names


def _stop_all_instances(config: LabConfig, table: ProcessTable) -> None:
    """Stops instances through one live member while the cluster still has quorum. Instances on a
    member whose daemon is dead are skipped (the cluster cannot reach them): their payloads are
    ended later through their lxc monitor."""
    live = {d.name for d in _member_dirs(config) if table.running(f"lxd-{d.name}") is not None}
    for lxd_dir in _member_dirs(config):
        if lxd_dir.name not in live:
            continue
        try:
            client = daemon_client(lxd_dir, timeout_s=20)
            stopping = []
            for project in [p["name"] for p in client.api.projects.get(params={"recursion": "1"}).json()["metadata"]]:
                listed = client.api.instances.get(params={"recursion": "1", "project": project}).json()["metadata"]
                for inst in listed:
                    if inst["status"] == "Stopped" or inst.get("location") not in live:
                        continue
                    stopping.append((inst["name"], client.api.instances[inst["name"]].state.put(
                        json={"action": "stop", "force": True, "timeout": -1}, params={"project": project})))
            deadline = time.monotonic() + STOP_ALL_S
            for name, response in stopping:
                finish(client, response, max(5.0, deadline - time.monotonic()), f"stop {name}")
        except (ClientConnectionFailed, LXDAPIException, OperationFailed, OperationTimeout, OSError) as error:
            log.info(f"could not stop instances via {lxd_dir.name} ({error}); continuing")
            continue
        return


def _shutdown_daemons(config: LabConfig, table: ProcessTable) -> None:
    """All LXD daemons at once: instances are already stopped and everything is about to be removed,
    so there is no need for a member-by-member handover."""
    daemons = [(d.name, d) for d in reversed(_member_dirs(config))] + [("img", config.image_remote_dir)]
    with ThreadPoolExecutor(len(daemons)) as pool:
        for future in [pool.submit(shutdown_daemon, table, name, lxd_dir, config.server, 20)
                       for name, lxd_dir in daemons]:
            future.result()


def _lxc_monitors(inodes: set[int]) -> dict[int, str]:
    """pid -> container name of lxc monitor processes living in the lab's namespaces."""
    monitors = {}
    for pid in all_pids():
        line = cmdline(pid)
        if line.startswith("[lxc monitor]"):
            try:
                inode = os.stat(f"/proc/{pid}/ns/net").st_ino
            except OSError:
                continue
            if inode in inodes:
                monitors[pid] = line.split()[-1]
    return monitors


def _cgroup_dirs(name: str) -> list[Path]:
    found = []
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        for kind in ("lxc.payload", "lxc.monitor"):
            path = hierarchy / f"{kind}.{name}"
            if path.is_dir():
                found.append(path)
    return found


def _kill_orphan_payloads(inodes: set[int]) -> set[str]:
    """Containers whose daemon is dead keep running under their lxc monitor: end their payload
    (found by cgroup) and the monitor, since the monitor proves they are the lab's."""
    monitors = _lxc_monitors(inodes)
    names = set(monitors.values())
    for name in names:
        for cg in _cgroup_dirs(name):
            for procs in cg.rglob("cgroup.procs"):
                for pid in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
    for pid in monitors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if names:
        log.info(f"ended containers left running by a dead daemon: {', '.join(sorted(names))}")
    return names


def _remove_empty_cgroups(names: set[str]) -> None:
    """SIGKILLed monitors cannot remove their cgroups (names are host-global: only ours)."""
    for name in names:
        for cg in _cgroup_dirs(name):
            for sub in sorted((p for p in cg.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                cg.rmdir()


def _end_netns_processes() -> None:
    """Whatever still runs inside the lab's namespaces was started by the lab."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        pids = [p for ns in lab_netns_names() for p in netns_pids(ns)]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        holds_within(lambda signalled=pids: _reaped(signalled), timeout_s=wait, poll_s=0.05)


def _reaped(pids: list[int]) -> bool:
    """True once none of `pids` runs (reaping those that are our children)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return not any(is_running(p) for p in pids)


def _host_mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].replace("\\040", " ")
        if target == prefix or target.startswith(prefix + "/"):
            mounts.append(target)
    return mounts


def down(config: LabConfig) -> list[str]:
    """Tears the lab down; returns verify_clean()'s findings (empty when clean)."""
    with exclusive(config.cache_dir, "down"):
        return _down(config)


def _down(config: LabConfig) -> list[str]:
    table = ProcessTable(config.run_dir)
    names = container_names(config)
    try:
        remove_pivot = not json.loads(config.state_path.read_text()).get("lxc_pivot_preexisted", True)
    except (OSError, ValueError):
        remove_pivot = False
    with step(log, "down: stop instances"):
        for link in lab_links():  # heal cut members first: a cluster with quorum shuts down fast
            if link != config.bridge:
                run(["ip", "link", "set", link, "up"], timeout=10, check=False)
        _stop_all_instances(config, table)
    with step(log, "down: shut down LXD daemons"):
        _shutdown_daemons(config, table)
    with step(log, "down: stop daemons and leftovers"):
        for name in ("haproxy", "minio", "dnsmasq"):
            daemon = table.get(name)
            if daemon:
                daemon.stop(term_timeout=10)
        inodes = {i for i in (netns_inode(ns) for ns in lab_netns_names()) if i is not None}
        names |= _kill_orphan_payloads(inodes)
        _end_netns_processes()
        for name in table.names():  # holders and anything else recorded
            daemon = table.get(name)
            if daemon:
                daemon.stop(term_timeout=3)
        stop_gpg_agent(config.site_dir / "gnupg")
        _remove_empty_cgroups(names)
        if remove_pivot:
            for pivot in CGROUP_ROOT.glob("*/lxc.pivot"):
                with contextlib.suppress(OSError):
                    pivot.rmdir()  # only succeeds when empty
    with step(log, "down: network"):
        delete_network(config)
    with step(log, "down: files"):
        host_limits.restore_limits(config)
        for target in sorted(_host_mounts_under(config.lab_dir), key=len, reverse=True):
            run(["umount", "-l", target], timeout=30, check=False)
        storage.detach_loops(config.lab_dir)  # the members' mount namespaces are gone: nothing holds them
        if config.lab_dir.exists():
            run(["rm", "-rf", "--one-file-system", str(config.lab_dir)], timeout=300)
    problems = verify_clean(config, names)
    if remove_pivot:
        problems += [f"cgroup {p}" for p in CGROUP_ROOT.glob("*/lxc.pivot")]
    return problems


def verify_clean(config: LabConfig, container_names_seen: set[str] = frozenset()) -> list[str]:
    """Everything the lab could have left behind; an empty list means nothing is left."""
    problems = []
    marker = str(config.lab_dir)
    for pid in all_pids():
        line = cmdline(pid)
        if (marker in line or "lxdha-holder:" in line) and pid != os.getpid() and is_running(pid):
            problems.append(f"process {pid}: {line[:200]}")
    problems += [f"network namespace {ns}" for ns in lab_netns_names()]
    problems += [f"link {name}" for name in lab_links()]
    problems += [f"mount {m}" for m in _host_mounts_under(config.lab_dir)]
    problems += [f"loop device {dev} ({path})" for dev, path in storage.loop_devices_under(config.lab_dir).items()]
    cgroup_names = set(container_names_seen)
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        for kind in ("lxc.payload", "lxc.monitor"):
            for cg in hierarchy.glob(f"{kind}.{PREFIX}-*"):
                cgroup_names.add(cg.name.split(".", 2)[2])
    for name in sorted(cgroup_names):
        problems += [f"cgroup {cg}" for cg in _cgroup_dirs(name)]
    if config.lab_dir.exists():
        problems.append(f"directory {config.lab_dir}")
    return problems
