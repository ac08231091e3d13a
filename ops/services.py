"""The services a stack runs, as the operations commands see them: how to tell they are healthy and
which kernel parameters they need on the members.

This is the hook service owners fill: a service appends a `Service` from its own stack settings in
`services()` (the registry: an HttpCheck through its VIP, keepalived's sysctls). Operators can add
ad-hoc checks and requirements under `lxdha:operations` or on the command line without code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cluster.connection import LxdEndpoint, lxd_client
from cluster.facts import read_instances
from cluster.operations import execute
from config.operations import OPERATIONS_KEY, operations_settings
from config.registry import REGISTRY_DEBUG_PORT, registry_settings
from ops.health import CheckResult, HealthCheck, HttpCheck
from ops.host_requirements import POSTGRES, SysctlRequirement
from ops.postgres_service import postgres_operations
from toolchain.pulumi_cli import ROOT
from toolchain.stack_config import StackConfig, endpoint_from_stack


class Stateful(Protocol):
    """A service whose members hold their data (a database): what a roll asks of it around a member."""

    def before_down(self, instances: list[str]) -> str | None:
        """Prepares for these instances going down (e.g. moves a primary away); returns what it did."""

    def whole(self) -> CheckResult:
        """Whether every member is back and replicating (the gate after a member's maintenance)."""


@dataclass(frozen=True)
class Service:
    name: str
    checks: tuple[HealthCheck, ...] = ()
    requirements: tuple[SysctlRequirement, ...] = ()
    stateful: Stateful | None = None


def services(config: StackConfig) -> list[Service]:
    """Everything this stack runs that maintenance must keep healthy."""
    settings = operations_settings(config.get(OPERATIONS_KEY))
    found = [Service(f"check {i}", checks=(HttpCheck.of(check),)) for i, check in enumerate(settings.health_checks)]
    required = tuple(SysctlRequirement(key, value, OPERATIONS_KEY) for key, value in settings.host_requirements)
    if required:
        found.append(Service("operator requirements", requirements=required))
    registry = registry_service(config)
    if registry:
        found.append(registry)
    database = postgres_operations(config)
    if database:
        operations, checks = database
        found.append(Service("postgres", checks=checks, requirements=POSTGRES, stateful=operations))
    return found


def registry_service(config: StackConfig) -> Service | None:
    """The HA registry, checked through its VIP: /v2/ answering 401 means a replica holds the VIP and
    its registry is serving (anonymous access is refused by design). No host sysctls: the registry
    listens on every address inside its container, so keepalived needs no ip_nonlocal_bind."""
    raw = config.get("lxdha:registry")
    if not isinstance(raw, dict):
        return None
    settings = registry_settings(raw, mirror_url=(config.get("lxdha:mirror") or {}).get("url"))
    cert_file = (raw.get("tls") or {}).get("certFile")
    verify: str | bool = str((ROOT / Path(cert_file).expanduser()).resolve()) if cert_file else True
    check = HttpCheck("registry VIP", f"https://{settings.vrrp.vip}:{settings.port}/v2/", (401,), 5.0, verify)
    return Service("registry", checks=(check, ReplicasReady(endpoint_from_stack(config), settings.vip_group.group,
                                                            tuple(settings.names()), settings.port)))


VRRP_STATE_FILE = "/run/lxdha/vrrp-state"  # written by keepalived's notify script (role keepalived)
READY_STATES = ("MASTER", "BACKUP")


@dataclass(frozen=True)
class ReplicasReady:
    """Every replica of the group is RUNNING, its registry answers on its own address and its keepalived
    is MASTER or BACKUP (not FAULT, not starting). The VIP check alone passes while one replica serves;
    this one keeps maintenance from taking the serving replica away before the other can take over."""

    endpoint: LxdEndpoint
    group: str
    expected: tuple[str, ...] = ()  # the replicas the stack declares: one missing is not ready either
    port: int = 5000  # lxdha:registry.port, where each replica's registry answers
    name: str = "registry replicas ready"

    def check(self) -> CheckResult:
        try:
            with lxd_client(self.endpoint) as client:
                return self.check_with(client)
        except Exception as error:  # noqa: BLE001 - any failure is "not ready", reported with its reason
            return CheckResult(False, f"{error.__class__.__name__}: {error}")

    def check_with(self, client: Any) -> CheckResult:
        replicas = [i for i in read_instances(client) if i.group == self.group]
        missing = sorted(set(self.expected) - {r.name for r in replicas})
        if missing:  # without this a roll moved the last replica away (a lost one is not "not running")
            return CheckResult(False, f"replica(s) missing from the cluster: {', '.join(missing)} "
                                      "(`pulumi up` on the stack creates them again)")
        if not replicas:
            return CheckResult(False, f"no instance of group {self.group!r}")
        for replica in replicas:
            problem = self._replica_problem(client, replica.name, replica.status, self.port)
            if problem:
                return CheckResult(False, f"{replica.name}: {problem}")
        return CheckResult(True, f"{len(replicas)} replica(s) serving and in VRRP")

    @staticmethod
    def _replica_problem(client: Any, name: str, status: str, port: int) -> str | None:
        if status != "Running":
            return f"status {status}"
        state = execute(client, name, ["cat", VRRP_STATE_FILE], timeout_s=20).stdout.strip()
        if state not in READY_STATES:
            return f"keepalived state {state or 'unknown'}; registry health: {_registry_health(client, name)}"
        probe = ["python3", "-c", f"import urllib.request as u\ntry: u.urlopen('https://127.0.0.1:{port}/v2/', "
                 "context=__import__('ssl')._create_unverified_context(), timeout=3)\n"
                 "except Exception as e: print(getattr(e, 'code', e))"]
        answer = execute(client, name, probe, timeout_s=20).stdout.strip()
        return None if answer == "401" else f"registry answered {answer or 'nothing'}"


def _registry_health(client: Any, name: str) -> str:
    """The registry's own health report (loopback debug port): names the failing check, e.g. S3."""
    probe = ["python3", "-c", "import urllib.request as u\ntry: print(u.urlopen("
             f"'http://127.0.0.1:{REGISTRY_DEBUG_PORT}/debug/health',"
             " timeout=3).status)\nexcept Exception as e: print(e.read().decode()[:300] if hasattr(e, 'read') else e)"]
    return execute(client, name, probe, timeout_s=20).stdout.strip() or "no answer"
