"""The PostgreSQL cluster as the operations commands see it: healthy when its write endpoint answers and
Patroni reports a running primary with every member running close behind it (and a synchronous standby
when synchronous mode is on); before a member goes down, its primary role is switched over to a
synchronous standby elsewhere; the members themselves are stopped in place (their data is local).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from cluster.connection import LxdEndpoint, lxd_client
from cluster.facts import read_instances
from config.postgres import KEY, PATRONI_PORT, PostgresSettings, postgres_settings
from config.postgres_secrets import REST_API
from ops.health import CheckResult, FunctionCheck
from provisioners.patroni import Patroni, PatroniError, move_primary_away
from toolchain.pulumi_cli import ROOT
from toolchain.stack_config import StackConfig, endpoint_from_stack


@dataclass(frozen=True)
class PostgresOperations:
    """What a roll asks of one PostgreSQL cluster (the `stateful` hook of its Service)."""

    settings: PostgresSettings
    endpoint: LxdEndpoint
    rest_password: str
    name: str = "postgres"
    addresses_seen: list[str] = field(default_factory=list, compare=False, repr=False)

    def patroni(self) -> Patroni:
        """Patroni at the members' addresses it reported last (its /cluster names every member); read from
        LXD only the first time, or when none of those answers. Asking Patroni must not wait on LXD, which a
        cut-off member or a change of LXD's leader holds up for as long as Patroni takes to fail over."""
        if self.addresses_seen:
            try:
                view = Patroni(self.addresses_seen, PATRONI_PORT, self.rest_password).cluster()
                self.addresses_seen[:] = [m.host for m in view.members if m.host] or self.addresses_seen
                return Patroni(self.addresses_seen, PATRONI_PORT, self.rest_password)
            except PatroniError:
                pass  # every member moved or stopped: LXD knows where they are now
        with lxd_client(self.endpoint) as client:
            members = [i for i in read_instances(client, with_state=True) if i.group == self.settings.group]
        self.addresses_seen[:] = [address for member in members for address in member.ipv4[:1]]
        return Patroni(self.addresses_seen, PATRONI_PORT, self.rest_password)

    def before_down(self, instances: list[str]) -> str | None:
        """Switches the primary over to a synchronous standby elsewhere when it is one of `instances`."""
        return move_primary_away(self.patroni(), set(instances))

    def whole(self) -> CheckResult:
        """A running primary, every member running and close behind it, a synchronous standby."""
        patroni = self.patroni()
        try:
            view = patroni.cluster()
            streaming = patroni.streaming(view.leader) if view.leader is not None else set()
        except PatroniError as error:
            return CheckResult(False, str(error))
        problem = view.problem(self.settings.members, streaming)
        if problem is None and self.settings.synchronous and not view.sync_standbys:
            problem = "no synchronous standby yet"
        return CheckResult(problem is None, problem or f"primary {view.leader.name}, "  # type: ignore[union-attr]
                           f"{len(view.members)} members replicating")


def _rest_password(config: StackConfig, raw: dict) -> str:
    inline = config.get(f"lxdha:{REST_API.secret_key}")
    if inline:
        return str(inline)
    path = raw.get(REST_API.file_field)
    return (ROOT / Path(str(path)).expanduser()).read_text().strip() if path else ""


def _tcp_check(address: str, port: int) -> CheckResult:
    try:
        with socket.create_connection((address, port), timeout=3):
            return CheckResult(True, f"{address}:{port} accepts connections")
    except OSError as error:
        return CheckResult(False, f"{address}:{port}: {error}")


def postgres_operations(config: StackConfig) -> tuple[PostgresOperations, tuple[FunctionCheck, ...]] | None:
    """The cluster's operations hook and its health checks, when the stack runs one."""
    raw = config.get(KEY)
    if not isinstance(raw, dict):
        return None
    settings = postgres_settings(raw)
    operations = PostgresOperations(settings, endpoint_from_stack(config), _rest_password(config, raw))
    haproxy = settings.haproxy
    write = FunctionCheck("postgres write endpoint",
                          lambda: _tcp_check(haproxy.vip_group.vrrp.vip, haproxy.write_port))
    return operations, (write,)
