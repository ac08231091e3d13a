"""DHCP for containers: dnsmasq bound to the lab bridge only — DHCP only (no DNS: --port=0), no
router or DNS options handed out, short leases so many test runs cannot exhaust the pool, and
`--no-ping` (otherwise the first lease costs ~3 s). VIPs are kept outside the range."""

from __future__ import annotations

import signal

from lab.config import DHCP_LEASE, DHCP_RANGE, LabConfig
from lab.proc import Daemon, ProcessTable

DAEMON = "dnsmasq"


def dnsmasq_args(config: LabConfig) -> list[str]:
    d = config.dhcp_dir
    return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--bind-interfaces",
            f"--interface={config.bridge}", "--except-interface=lo", f"--listen-address={config.gateway}",
            f"--dhcp-range={DHCP_RANGE[0]},{DHCP_RANGE[1]},255.255.255.0,{DHCP_LEASE}",
            "--dhcp-authoritative", "--no-ping", "--dhcp-option=3", "--dhcp-option=6", "--no-resolv",
            "--no-hosts", f"--dhcp-leasefile={d}/leases", f"--dhcp-hostsfile={d}/static-hosts",
            "--log-dhcp", f"--log-facility={d}/dnsmasq.log", f"--pid-file={d}/dnsmasq.pid",
            "--user=root", "--group=root"]


def ensure_dhcp(config: LabConfig, table: ProcessTable) -> Daemon:
    running = table.running(DAEMON)
    if running:
        return running
    config.dhcp_dir.mkdir(parents=True, exist_ok=True)
    (config.dhcp_dir / "static-hosts").touch()
    return table.spawn(DAEMON, dnsmasq_args(config), marker=f"--dhcp-leasefile={config.dhcp_dir}/leases",
                       log_path=config.log_dir / "dnsmasq.out")


def add_static_lease(config: LabConfig, table: ProcessTable, mac: str, address: str) -> None:
    """Pins MAC -> address (re-read by dnsmasq on SIGHUP)."""
    hosts = config.dhcp_dir / "static-hosts"
    lines = [line for line in hosts.read_text().splitlines() if line and not line.lower().startswith(mac.lower())]
    hosts.write_text("\n".join([*lines, f"{mac},{address}"]) + "\n")
    daemon = table.running(DAEMON)
    if daemon:
        daemon.send(signal.SIGHUP)


def leases(config: LabConfig) -> list[dict[str, str]]:
    path = config.dhcp_dir / "leases"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append({"expires": parts[0], "mac": parts[1], "address": parts[2], "hostname": parts[3]})
    return out
