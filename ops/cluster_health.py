"""The cluster's own health gates: every member ONLINE, and the instances we expect RUNNING."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pylxd

from cluster.facts import read_members
from cluster.retry import is_transient
from ops.health import CheckResult


def _guard(what: str, read: Callable[[], CheckResult]) -> CheckResult:
    try:
        return read()
    except Exception as error:  # noqa: BLE001 - while the cluster is shaky, "cannot tell" is "not healthy"
        kind = "transient" if is_transient(error) else "error"
        return CheckResult(False, f"cannot read {what} ({kind}: {error})")


@dataclass(frozen=True)
class MembersOnline:
    """Every cluster member reports ONLINE (an EVACUATED or OFFLINE member fails the gate)."""

    client: pylxd.Client = field(compare=False)
    name: str = "members ONLINE"

    def check(self) -> CheckResult:
        def read() -> CheckResult:
            members = read_members(self.client)
            bad = [f"{m.name} is {m.status}" for m in members if not m.online]
            names = " ".join(sorted(m.name for m in members))
            return CheckResult(not bad, "; ".join(bad) if bad else names)
        return _guard("cluster members", read)


@dataclass(frozen=True)
class InstancesRunning:
    """Each named instance exists and is RUNNING."""

    client: pylxd.Client = field(compare=False)
    instances: tuple[str, ...] = ()
    name: str = "instances RUNNING"

    @classmethod
    def of(cls, client: pylxd.Client, names: Iterable[str]) -> InstancesRunning:
        return cls(client, tuple(sorted(names)))

    def check(self) -> CheckResult:
        def read() -> CheckResult:
            listed = self.client.api.instances.get(params={"recursion": "1"}).json()["metadata"]
            status = {i["name"]: (i.get("status"), i.get("location")) for i in listed}
            bad = [f"{n} is {status[n][0]} on {status[n][1]}" if n in status else f"{n} is missing"
                   for n in self.instances if status.get(n, ("",))[0] != "Running"]
            return CheckResult(not bad, "; ".join(bad) if bad else f"{len(self.instances)} running")
        return _guard("instances", read)
