"""An HAProxy group's frontends and backends as data, and the group's settings when it is declared as a
component: the VIP group, its listeners and where they forward, each checked against what consumes it
(haproxy's names, modes and balance algorithms, the role's template, the ports the replicas hold).

The database builds its own group from trusted data (components/postgres_cluster.py); these rules are
for a group a user declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from config import vip_group
from config.checks import host_problem, template_safe_problem
from config.containers import ansible_dir
from config.section import Section, section_of
from config.vip_group import VipGroupSettings, vip_group_settings

PLAYBOOK = "haproxy.yml"
KNOWN = (*vip_group.KNOWN, "ansibleDir", "backends", "frontends", "statsPort")
FRONTEND_KNOWN = ("name", "port", "backend", "mode")
BACKEND_KNOWN = ("name", "servers", "mode", "balance", "check", "failFast")
CHECK_KNOWN = ("kind", "path", "port", "expectStatus", "intervalMs")
SERVER_KNOWN = ("name", "address", "port")
MODES = ("tcp", "http")
BALANCES = ("roundrobin", "static-rr", "leastconn", "first", "source")
CHECK_KINDS = ("tcp", "http")
STATS_PORT = 8404  # the replicas' stats and health listener (loopback): keepalived tracks it
SSH_PORT = 22
RESERVED_NAMES = ("stats",)  # the role's own frontend
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # haproxy's section and server names
URL_PATH = re.compile(r"^/[\x21-\x7e]*$")


@dataclass(frozen=True)
class HealthCheck:
    """How haproxy tells a server is up: a TCP connect, or an HTTP OPTIONS whose status must be
    `expect_status` (on `port` when the check endpoint is not the served port, e.g. Patroni's REST API)."""

    kind: str = "tcp"  # tcp | http
    path: str = "/"
    port: int | None = None
    expect_status: int = 200
    interval_ms: int = 1000  # a server is down after 2 failed checks, up after 1 good one


@dataclass
class Backend:
    name: str
    servers: pulumi.Input[list[dict[str, Any]]]  # [{name, address, port}]: addresses may come from other resources
    mode: str = "tcp"
    balance: str = "roundrobin"
    check: HealthCheck = field(default_factory=HealthCheck)
    # a server that refuses a connection is marked down at once and the retry goes to the next server up,
    # instead of haproxy retrying it after 1 s pauses: for a backend whose one right server moves (a primary)
    fail_fast: bool = False


@dataclass(frozen=True)
class Frontend:
    name: str
    port: int
    backend: str
    mode: str = "tcp"


@dataclass(frozen=True)
class HAProxyGroupSettings:
    vip_group: VipGroupSettings
    frontends: tuple[Frontend, ...]
    backends: tuple[Backend, ...]
    stats_port: int
    ansible_dir: str


def _name(section: Section, field: str = "name") -> str:
    name = section.text(field)
    if not NAME.match(name) or name in RESERVED_NAMES:
        raise section.fail(field, f"{name!r} is not a name haproxy takes here", "use letters, digits, '_', '-', '.' "
                           f"or ':' (not {', '.join(RESERVED_NAMES)})")
    return name


def _choice(section: Section, field: str, default: str, choices: tuple[str, ...]) -> str:
    value = section.raw.get(field, default)
    if value not in choices:
        raise section.fail(field, f"{value!r} is not one of {', '.join(choices)}", f"use one of {', '.join(choices)}")
    return str(value)


def _entries(group: Section, field: str) -> list[Any]:
    entries = group.raw.get(field)
    if not isinstance(entries, list) or not entries:
        raise group.fail(field, "is not a non-empty list", f"list the group's {field}")
    return entries


def _unique(group: Section, field: str, names: list[str]) -> None:
    for index, name in enumerate(names):
        if name in names[:index]:
            raise group.fail(f"{field}[{index}].name", f"{name!r} is used twice", "give each its own name")


def _check(backend: Section) -> HealthCheck:
    check = backend.child("check", CHECK_KNOWN)
    kind = _choice(check, "kind", "tcp", CHECK_KINDS)
    path = str(check.raw.get("path", "/"))
    if not URL_PATH.match(path) or template_safe_problem(path):
        raise check.fail("path", f"{path[:60]!r} is not a URL path", "give the path the check requests, e.g. /health")
    port = check.raw.get("port")
    return HealthCheck(kind, path, None if port is None else check.whole("port", 0, 1, 65535, "a TCP port"),
                       check.whole("expectStatus", 200, 100, 599, "an HTTP status, e.g. 200"),
                       check.whole("intervalMs", 1000, 100, 60000, "e.g. 1000"))


def servers(backend: Section, value: Any) -> pulumi.Input[list[dict[str, Any]]]:
    """The backend's servers `[{name, address, port}]` checked when given plainly (an Output, e.g. other
    resources' addresses, is checked once known by the host, or taken as is)."""
    if isinstance(value, pulumi.Output):
        return value
    if not isinstance(value, list):
        raise backend.fail("servers", "is not a list", "list the servers as [{name, address, port}]")
    checked = []
    for index, entry in enumerate(value):
        server = section_of(entry, f"{backend.at('servers')}[{index}]", SERVER_KNOWN,
                            "write it as {name, address, port}")
        address = server.text("address")
        if host_problem(address):
            raise server.fail("address", host_problem(address) or "", "give an IP address or a host name")
        checked.append({"name": _name(server), "address": address,
                        "port": server.whole("port", 0, 1, 65535, "the server's TCP port")})
    names = [entry["name"] for entry in checked]
    _unique(backend, "servers", names)
    return checked


def _backend(group: Section, index: int, entry: Any) -> Backend:
    backend = section_of(entry, f"{group.at('backends')}[{index}]", BACKEND_KNOWN,
                         "write it as {name, servers, mode, balance, check, failFast}")
    return Backend(_name(backend), servers(backend, backend.raw.get("servers")), _choice(backend, "mode", "tcp", MODES),
                   _choice(backend, "balance", "roundrobin", BALANCES), _check(backend),
                   backend.flag("failFast", False))


def _frontend(group: Section, index: int, entry: Any, modes: dict[str, str], taken: dict[int, str]) -> Frontend:
    frontend = section_of(entry, f"{group.at('frontends')}[{index}]", FRONTEND_KNOWN,
                          "write it as {name, port, backend, mode}")
    port = frontend.whole("port", 0, 1, 65535, "the TCP port clients reach the VIP on")
    if port in taken:
        raise frontend.fail("port", f"{port} is already in use on every replica: it is {taken[port]}",
                            "give the frontend a port of its own")
    backend = frontend.text("backend")
    if backend not in modes:
        raise frontend.fail("backend", f"{backend!r} is none of the backends ({', '.join(modes)})", "name a backend")
    mode = _choice(frontend, "mode", "tcp", MODES)
    if mode != modes[backend]:
        raise frontend.fail("mode", f"{mode} does not match backend {backend!r}'s mode {modes[backend]}: haproxy "
                            "refuses the pair", "give both the same mode")
    return Frontend(_name(frontend), port, backend, mode)


def haproxy_group_settings(raw: Any, key: str) -> HAProxyGroupSettings:
    """A user's HAProxy group from the section at `key`, or a ConfigError naming the bad key."""
    group = section_of(raw, key, KNOWN, "see docs/components.md (HAProxyGroup)")
    vips = vip_group_settings(raw, key, default_prefix="haproxy", default_vrid=60)
    stats = group.whole("statsPort", STATS_PORT, 1024, 65535, f"use e.g. {STATS_PORT}")
    backends = [_backend(group, index, entry) for index, entry in enumerate(_entries(group, "backends"))]
    _unique(group, "backends", [backend.name for backend in backends])
    modes = {backend.name: backend.mode for backend in backends}
    taken = {SSH_PORT: "sshd's", stats: "the stats and health listener's (statsPort)"}
    frontends = []
    for index, entry in enumerate(_entries(group, "frontends")):
        frontends.append(_frontend(group, index, entry, modes, taken))
        taken[frontends[-1].port] = f"frontend {frontends[-1].name}'s"
    _unique(group, "frontends", [frontend.name for frontend in frontends])
    return HAProxyGroupSettings(vips, tuple(frontends), tuple(backends), stats, ansible_dir(group, PLAYBOOK))
