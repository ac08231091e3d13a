"""Kernel parameters the services need on the members, and a check that names host and parameter.

Kernel parameters are the hosts' business, not the containers' (the seed's lesson): each service
declares what it needs, `ansible/hosts.yml` sets it, and this check proves it before and after every
member's maintenance (a kernel upgrade or reboot is exactly when a hand-set value is lost).
How a member's value is read is pluggable: a command template (ssh / ansible ad-hoc on a real site,
`ip netns exec` in the lab) or any object with `read(member, address, key)`.

Note: net.* parameters are per network namespace. A container has its own, which starts from the
kernel's defaults, not the host's: a host value is what the host's own sockets see. A replica that
binds a VIP it does not hold (keepalived + `net.ipv4.ip_nonlocal_bind`) must set it inside its own
namespace too; the host value is declared here for services running on the hosts' network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cluster.errors import ConfigError
from config.operations import sysctl_assignment
from ops.command_template import render, run


@dataclass(frozen=True)
class SysctlRequirement:
    key: str
    value: str
    service: str
    why: str = ""

    @classmethod
    def parse(cls, text: str, service: str = "command line") -> SysctlRequirement:
        """`--require net.ipv4.ip_nonlocal_bind=1` -> requirement."""
        return cls(*sysctl_assignment(text, "--require"), service)


# Declared by the services that need them; a service's declaration lives with its other settings.
KEEPALIVED = (
    SysctlRequirement("net.ipv4.ip_nonlocal_bind", "1", "keepalived",
                      "the service binds the VIP on replicas that do not hold it yet"),
)
# Heuristic overcommit: 1 (always) lets the OOM killer take the postmaster instead of failing one
# allocation; 2 (strict, PostgreSQL's advice for hosts of its own) fails other containers' allocations on a
# shared LXD host. vm.* is the host's, shared by every container on it.
POSTGRES = (
    SysctlRequirement("vm.overcommit_memory", "0", "postgres",
                      "heuristic overcommit: neither the OOM killer for the postmaster nor failed "
                      "allocations for the other containers"),
)


class SysctlReader(Protocol):
    def read(self, member: str, address: str, key: str) -> str | None:
        """The value on `member`, or None when it cannot be read there (reported as unchecked)."""


@dataclass(frozen=True)
class CommandSysctlReader:
    """Runs a template per member and key, e.g. `ssh root@{address} sysctl -n {key}`."""

    template: str
    timeout_s: float = 20.0

    def read(self, member: str, address: str, key: str) -> str | None:
        result = run(render(self.template, member=member, address=address, key=key), self.timeout_s)
        if result.returncode != 0:
            return None
        return " ".join(result.output.split())  # sysctl prints tabs between the numbers of multi-value keys


@dataclass(frozen=True)
class Finding:
    member: str
    requirement: SysctlRequirement
    actual: str | None  # None: could not be read

    def message(self) -> str:
        req = self.requirement
        why = f" ({req.why})" if req.why else ""
        if self.actual is None:
            return f"{self.member}: cannot read {req.key}; {req.service} needs {req.value}{why}"
        return (f"{self.member}: {req.key} is {self.actual}, {req.service} needs {req.value}{why}. "
                f"Fix: apply ansible/hosts.yml to {self.member} (or `sysctl -w {req.key}={req.value}` there)")


@dataclass(frozen=True)
class RequirementReport:
    wrong: list[Finding]
    unreadable: list[Finding]
    checked: int

    @property
    def ok(self) -> bool:
        return not self.wrong and not self.unreadable

    def lines(self) -> list[str]:
        return [f.message() for f in (*self.wrong, *self.unreadable)]


def merge(requirements: Iterable[SysctlRequirement]) -> list[SysctlRequirement]:
    """One requirement per key; two services wanting different values for one key is a config error."""
    by_key: dict[str, SysctlRequirement] = {}
    for req in requirements:
        seen = by_key.get(req.key)
        if seen and seen.value != req.value:
            raise ConfigError(req.key, f"{seen.service} needs {seen.value} but {req.service} needs {req.value}",
                              "the services cannot share these hosts until one of them changes")
        by_key.setdefault(req.key, req)
    return [by_key[k] for k in sorted(by_key)]


def check_requirements(requirements: Sequence[SysctlRequirement], members: dict[str, str],
                       reader: SysctlReader) -> RequirementReport:
    """Reads every required key on every member (`members`: name -> address)."""
    wrong, unreadable, checked = [], [], 0
    for member in sorted(members):
        for req in merge(requirements):
            actual = reader.read(member, members[member], req.key)
            checked += 1
            if actual is None:
                unreadable.append(Finding(member, req, None))
            elif actual.strip() != req.value:
                wrong.append(Finding(member, req, actual.strip()))
    return RequirementReport(wrong, unreadable, checked)
