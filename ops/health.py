"""Health gates: small checks that say ok or why not, and a bounded wait until all of them pass.

`HealthCheck` is the protocol service owners implement (the registry adds its VIP check); `HttpCheck`
is the registry-agnostic one: any URL answering with an expected status is healthy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import requests

from cluster.polling import WaitTimeout, wait_until
from config.operations import HealthCheckSettings


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


@runtime_checkable
class HealthCheck(Protocol):
    name: str

    def check(self) -> CheckResult: ...


@dataclass(frozen=True)
class HttpCheck(HealthCheckSettings):
    """GET `url`; healthy when the status is expected (the fields: config.operations.HealthCheckSettings)."""

    @classmethod
    def of(cls, settings: HealthCheckSettings) -> HttpCheck:
        return cls(**asdict(settings))

    def check(self) -> CheckResult:
        session = requests.Session()
        session.trust_env = False  # no proxy between us and the VIP; no CA bundle overriding `verify`
        try:
            response = session.get(self.url, timeout=self.timeout_s, verify=self.verify)
        except requests.RequestException as error:
            return CheckResult(False, f"GET {self.url}: {error.__class__.__name__}: {error}")
        finally:
            session.close()
        ok = response.status_code in self.expect_status
        return CheckResult(ok, f"GET {self.url} -> {response.status_code}")


@dataclass(frozen=True)
class FunctionCheck:
    """A check from a plain function returning bool or CheckResult (hooks, tests)."""

    name: str
    function: Callable[[], bool | CheckResult] = field(compare=False)

    def check(self) -> CheckResult:
        result = self.function()
        return result if isinstance(result, CheckResult) else CheckResult(bool(result), "ok" if result else "failed")


def evaluate(checks: Sequence[HealthCheck]) -> list[tuple[str, CheckResult]]:
    """Every check once; an exception in a check is a failed check, not a crash."""
    results = []
    for check in checks:
        try:
            results.append((check.name, check.check()))
        except Exception as error:  # noqa: BLE001 - a broken check must fail the gate, with its reason
            results.append((check.name, CheckResult(False, f"{error.__class__.__name__}: {error}")))
    return results


@dataclass(frozen=True)
class GateResult:
    ok: bool
    results: list[tuple[str, CheckResult]]
    attempts: int
    seconds: float

    def failures(self) -> list[str]:
        return [f"{name}: {result.detail}" for name, result in self.results if not result.ok]

    def summary(self) -> str:
        if self.ok:
            return f"OK ({', '.join(f'{n}: {r.detail}' for n, r in self.results) or 'no checks'})"
        return f"UNHEALTHY after {self.attempts} attempt(s), {self.seconds:.0f}s: " + "; ".join(self.failures())


def wait_healthy(checks: Sequence[HealthCheck], timeout_s: float = 120.0, interval_s: float = 2.0,
                 max_attempts: int = 60, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None) -> GateResult:
    """Re-evaluates until all pass, bounded by `timeout_s` and `max_attempts` (whichever comes first)."""
    clock = clock or time.monotonic
    started = clock()
    rounds: list[list[tuple[str, CheckResult]]] = []

    def all_pass() -> bool:
        rounds.append(evaluate(checks))
        return all(result.ok for _, result in rounds[-1])

    try:
        ok = wait_until(all_pass, timeout_s=timeout_s, poll_s=interval_s, what="health gate", attempts=max_attempts,
                        sleep=sleep, clock=clock)
    except WaitTimeout:
        ok = False
    return GateResult(ok, rounds[-1], len(rounds), clock() - started)
