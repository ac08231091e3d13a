"""The TCP load balancer in front of the members' API: Debian's haproxy in its own netns.

`balance first` sends every connection to the first healthy member in order (m1, then m2...), so
tests know which member to kill; `option redispatch` retries a refused connect on the next member
before the health check has even noticed, so a killed member costs clients nothing.
"""

from __future__ import annotations

import socket

from cluster.polling import wait_until
from lab.config import API_PORT, LabConfig
from lab.files import write_public
from lab.net import NETNS_DIR
from lab.proc import Daemon, LabError, ProcessTable, run

DAEMON = "haproxy"


def haproxy_config(config: LabConfig) -> str:
    servers = "\n".join(
        f"    server {m.name} {m.address}:{API_PORT} check check-ssl verify none" for m in config.members)
    return f"""# written by lab/lb.py
global
    maxconn 2000
    stats socket {config.lb_dir}/haproxy.sock mode 600 level admin
    log stdout format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    retries 3
    option redispatch 1

frontend lxd_api
    bind {config.lb.address}:{API_PORT}
    default_backend lxd_members

backend lxd_members
    balance first
    option httpchk GET /1.0
    http-check expect status 200
    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2
{servers}
"""


def ensure_lb(config: LabConfig, table: ProcessTable) -> Daemon:
    cfg_path = config.lb_dir / "haproxy.cfg"
    wanted = haproxy_config(config)
    running = table.running(DAEMON)
    if running and cfg_path.exists() and cfg_path.read_text() == wanted:
        return running
    if running:
        running.stop()
    write_public(cfg_path, wanted)
    run(["haproxy", "-c", "-q", "-f", str(cfg_path)], timeout=30)
    daemon = table.spawn(DAEMON, ["nsenter", f"--net={NETNS_DIR / config.lb.netns}", "--", "haproxy", "-db",
                                  "-f", str(cfg_path)],
                         marker=f"-f {cfg_path}", log_path=config.log_dir / "haproxy.log")
    wait_until(lambda: _port_open(config.lb.address, API_PORT), timeout_s=15, poll_s=0.2, what="haproxy listening",
               not_yet=(OSError,))
    return daemon


def _port_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True


def server_states(config: LabConfig) -> dict[str, str]:
    """Member -> haproxy's view (UP/DOWN/...), from its admin socket."""
    sock_path = str(config.lb_dir / "haproxy.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(sock_path)
        sock.sendall(b"show stat\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    lines = b"".join(chunks).decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == "lxd_members" and row.get("svname") not in ("BACKEND", "FRONTEND", None):
            states[row["svname"]] = row["status"].split(" ")[0]
    return states


def wait_server_state(config: LabConfig, member: str, state: str, timeout: float = 60) -> None:
    wait_until(lambda: server_states(config).get(member) == state, timeout_s=timeout, poll_s=0.25,
               what=f"haproxy seeing {member} {state}", not_yet=(OSError, IndexError))


def first_healthy_member(config: LabConfig) -> str:
    """The member `balance first` sends new connections to."""
    states = server_states(config)
    for member in config.members:
        if states.get(member.name) == "UP":
            return member.name
    raise LabError(f"no member is UP behind the load balancer: {states}")


