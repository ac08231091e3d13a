"""The lab segment: one host bridge, and per member/node a network namespace joined to it by a
veth pair. Member namespaces carry a bridge `br0` so their containers share the same L2 segment.
No namespace gets a default route: nothing the lab runs can reach beyond the segment.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from lab.config import LabConfig, Member, Node
from lab.proc import run

NETNS_DIR = Path("/run/netns")


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return run([*prefix, *args], timeout=20, check=check).stdout


def link_exists(name: str, netns: str | None = None) -> bool:
    return run(["ip", *(["-n", netns] if netns else []), "link", "show", "dev", name],
               timeout=10, check=False).returncode == 0


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def ensure_bridge(config: LabConfig) -> None:
    if not link_exists(config.bridge):
        ip("link", "add", config.bridge, "type", "bridge")
    # bridged lab traffic must not depend on the host's iptables (br_netfilter is loaded here)
    ip("link", "set", config.bridge, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0",
       "nf_call_arptables", "0", check=False)
    cidr = f"{config.gateway}/{config.prefix_len}"
    if cidr not in ip("-4", "addr", "show", "dev", config.bridge):
        ip("addr", "add", cidr, "dev", config.bridge)
    ip("link", "set", config.bridge, "up")


def _ensure_netns_with_veth(config: LabConfig, netns: str, host_veth: str) -> None:
    if not netns_exists(netns):
        ip("netns", "add", netns)
    ip("link", "set", "lo", "up", netns=netns)
    if not link_exists("eth0", netns):
        peer = f"{host_veth}-p"
        if link_exists(host_veth):  # half-made pair from an interrupted run
            ip("link", "del", host_veth)
        ip("link", "add", host_veth, "type", "veth", "peer", "name", peer)
        ip("link", "set", peer, "netns", netns)
        ip("link", "set", peer, "name", "eth0", netns=netns)
    ip("link", "set", host_veth, "master", config.bridge, "up")


def ensure_member_netns(config: LabConfig, member: Member) -> None:
    """eth0 enslaved to br0; br0 carries the member address and eth0's (stable) MAC."""
    ns = member.netns
    _ensure_netns_with_veth(config, ns, member.host_veth)
    if not link_exists("br0", ns):
        mac = ip("-br", "link", "show", "dev", "eth0", netns=ns).split()[2]
        ip("link", "add", "br0", "address", mac, "type", "bridge", netns=ns)
    ip("link", "set", "eth0", "master", "br0", "up", netns=ns)
    ip("link", "set", "br0", "up", netns=ns)
    cidr = f"{member.address}/{config.prefix_len}"
    if cidr not in ip("-4", "addr", "show", "dev", "br0", netns=ns):
        ip("addr", "add", cidr, "dev", "br0", netns=ns)


def ensure_node_netns(config: LabConfig, node: Node) -> None:
    ns = node.netns
    _ensure_netns_with_veth(config, ns, node.host_veth)
    ip("link", "set", "eth0", "up", netns=ns)
    cidr = f"{node.address}/{config.prefix_len}"
    if cidr not in ip("-4", "addr", "show", "dev", "eth0", netns=ns):
        ip("addr", "add", cidr, "dev", "eth0", netns=ns)


def ensure_network(config: LabConfig) -> None:
    ensure_bridge(config)
    for member in config.members:
        ensure_member_netns(config, member)
    for node in (config.lb, config.image_remote, config.site):
        ensure_node_netns(config, node)


def set_host_veth(host_veth: str, up: bool) -> None:
    """Cut (down) or heal (up) a namespace's only link to the segment."""
    ip("link", "set", host_veth, "up" if up else "down")


def host_veth_is_up(host_veth: str) -> bool:
    flags = ip("-o", "link", "show", "dev", host_veth).split("<", 1)[1].split(">", 1)[0].split(",")
    return "UP" in flags


def lab_netns_names() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith("lxdha-"))


def lab_links() -> list[str]:
    """Host links the lab owns (bridge and veth host ends), whatever the member count was."""
    out = run(["ip", "-o", "link", "show"], timeout=10).stdout
    names = []
    for line in out.splitlines():
        name = line.split(":", 2)[1].strip().split("@")[0]
        if name.startswith("lxdha"):
            names.append(name)
    return names


def netns_pids(netns: str) -> list[int]:
    result = run(["ip", "netns", "pids", netns], timeout=10, check=False)
    return [int(p) for p in result.stdout.split()] if result.returncode == 0 else []


def netns_inode(netns: str) -> int | None:
    try:
        return (NETNS_DIR / netns).stat().st_ino
    except OSError:
        return None


def delete_network(config: LabConfig) -> None:
    for name in lab_links():
        if name != config.bridge:
            ip("link", "del", name, check=False)
    for ns in lab_netns_names():
        ip("netns", "del", ns, check=False)
    if link_exists(config.bridge):
        ip("link", "del", config.bridge, check=False)
    # `ip netns add` made /run/netns a mount point; drop it only when no one else has a netns
    if NETNS_DIR.is_dir() and not any(NETNS_DIR.iterdir()):
        if run(["mountpoint", "-q", str(NETNS_DIR)], timeout=10, check=False).returncode == 0:
            run(["umount", str(NETNS_DIR)], timeout=10, check=False)
        with contextlib.suppress(OSError):
            NETNS_DIR.rmdir()
