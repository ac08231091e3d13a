"""`lab status`: what exists right now, read-only."""

from __future__ import annotations

from lab import lb, site
from lab.cluster import statuses_seen
from lab.config import LabConfig
from lab.dhcp import leases
from lab.net import host_veth_is_up, lab_netns_names, link_exists
from lab.proc import ProcessTable


def collect(config: LabConfig) -> dict:
    table = ProcessTable(config.run_dir)
    daemons = {}
    for name in table.names():
        daemon = table.get(name)
        daemons[name] = {"pid": daemon.pid, "running": daemon.alive()} if daemon else None
    members = statuses_seen(config)
    try:
        lb_states = lb.server_states(config)
    except OSError:
        lb_states = {}
    return {
        "lab_dir_exists": config.lab_dir.exists(),
        "up_completed": config.info_path.exists(),
        "bridge": link_exists(config.bridge),
        "netns": lab_netns_names(),
        "cut_members": [m.name for m in config.members
                        if link_exists(m.host_veth) and not host_veth_is_up(m.host_veth)],
        "daemons": daemons,
        "cluster_members": members,
        "load_balancer": lb_states,
        "s3_healthy": site.s3_healthy(config),
        "mirror_serves": site.mirror_serves(config),
        "dhcp_leases": len(leases(config)),
    }


def render(status: dict) -> str:
    lines = [f"lab dir present: {status['lab_dir_exists']}   last `up` completed: {status['up_completed']}",
             f"bridge: {status['bridge']}   namespaces: {', '.join(status['netns']) or '-'}"]
    for name, daemon in sorted(status["daemons"].items()):
        state = "running" if daemon and daemon["running"] else "NOT running"
        lines.append(f"  {name:12} pid {daemon['pid'] if daemon else '-':>7}  {state}")
    if status["cluster_members"]:
        lines.append("cluster: " + ", ".join(f"{n} {s.upper()}" for n, s in sorted(status["cluster_members"].items())))
    if status["load_balancer"]:
        lines.append("load balancer: " + ", ".join(f"{n} {s}" for n, s in sorted(status["load_balancer"].items())))
    if status["cut_members"]:
        lines.append("cut off: " + ", ".join(status["cut_members"]))
    lines.append(f"S3 healthy: {status['s3_healthy']}   mirror serves: {status['mirror_serves']}"
                 f"   DHCP leases: {status['dhcp_leases']}")
    return "\n".join(lines)
