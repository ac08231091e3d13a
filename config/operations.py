"""`lxdha:operations`: what an operator adds, in the stack config, to the checks and steps the operations
commands (maintenance, rebalance, host-check) take from the stack's own services.

Read whole and checked before a command touches the cluster: a host step whose template cannot be filled
would otherwise fail after the first member was already evacuated.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.errors import ConfigError
from config.checks import check_known_keys, url_problem

OPERATIONS_KEY = "lxdha:operations"
KNOWN = ("healthChecks", "hostRequirements", "hostStep", "sysctlReader")
CHECK_KNOWN = ("name", "url", "expectStatus", "caFile", "insecure", "timeoutS")
# the fields each command template may use (besides {python}, this interpreter)
HOST_STEP_FIELDS = ("member", "address")
SYSCTL_READER_FIELDS = ("member", "address", "key")
MAX_TIMEOUT_S = 3600
# a kernel parameter as sysctl names it: dotted words, e.g. net.ipv4.ip_nonlocal_bind
SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")


@dataclass(frozen=True)
class HealthCheckSettings:
    """One HTTP health check: healthy when GET `url` answers one of `expect_status` within `timeout_s`.
    `verify` is a CA file, or False for a self-signed service (only reachability is then checked)."""

    name: str
    url: str
    expect_status: tuple[int, ...] = (200,)
    timeout_s: float = 5.0
    verify: str | bool = True


@dataclass(frozen=True)
class OperationsSettings:
    health_checks: tuple[HealthCheckSettings, ...] = ()
    host_requirements: tuple[tuple[str, str], ...] = ()  # (sysctl key, value)
    host_step: str | None = None
    sysctl_reader: str | None = None


def command_words(template: str, **fields: str) -> list[str]:
    """`ssh root@{address} sysctl -n {key}` -> argv: split like a shell would, then each word formatted
    with named fields (`{python}` is this interpreter), so a value can never turn into extra words or
    shell syntax. Raises ValueError saying why the template cannot be filled."""
    try:
        return [word.format(python=sys.executable, **fields) for word in shlex.split(template)]
    except (KeyError, IndexError, ValueError) as error:
        known = ", ".join(sorted({"python", *fields}))
        raise ValueError(f"cannot fill {template!r} ({error}); use only the fields {known} in braces") from None


def template_problem(template: object, fields: tuple[str, ...]) -> str | None:
    """Why `template` is not a command the operations commands can fill with `fields`, or None."""
    if not isinstance(template, str) or not template.strip():
        return f"{template!r} is not a command"
    try:
        command_words(template, **dict.fromkeys(fields, "x"))
    except ValueError as error:
        return str(error)
    return None


def checked_template(template: object, fields: tuple[str, ...], setting: str) -> str:
    """`template` when it can be filled with `fields`; otherwise a ConfigError naming `setting`."""
    problem = template_problem(template, fields)
    if problem:
        usable = ", ".join(f"{{{name}}}" for name in ("python", *fields))
        raise ConfigError(setting, problem, f"write one command; the fields it may use are {usable}")
    return str(template)


def sysctl_assignment(text: object, setting: str) -> tuple[str, str]:
    """`net.ipv4.ip_nonlocal_bind=1` -> (key, value); a ConfigError naming `setting` otherwise."""
    key, sep, value = str(text).partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not SYSCTL_KEY.match(key) or not value or not value.isprintable():
        raise ConfigError(setting, f"{str(text)[:80]!r} is not KEY=VALUE of a kernel parameter",
                          "write e.g. net.ipv4.ip_nonlocal_bind=1")
    return key, value


def _number(entry: dict[str, Any], field: str, default: float, where: str) -> float:
    value = entry.get(field, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= MAX_TIMEOUT_S:
        raise ConfigError(f"{where}.{field}", f"{value!r} is not a number of seconds above 0, at most "
                          f"{MAX_TIMEOUT_S}", "use e.g. 5")
    return float(value)


def health_check(entry: object, where: str) -> HealthCheckSettings:
    """`{name, url, expectStatus: [200], caFile | insecure: true, timeoutS}` -> HealthCheckSettings."""
    if not isinstance(entry, dict) or not entry.get("url"):
        raise ConfigError(where, f"{str(entry)[:80]!r} has no url", "give each check {name, url}")
    check_known_keys(entry, CHECK_KNOWN, where)
    problem = url_problem(entry["url"], query_allowed=True)
    if problem:
        raise ConfigError(f"{where}.url", problem, "give the http(s):// URL the service answers on")
    expect = entry.get("expectStatus", [200])
    if (not isinstance(expect, list) or not expect
            or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in expect)):
        raise ConfigError(f"{where}.expectStatus", f"{expect!r} is not a list of HTTP status codes (100-599)",
                          "e.g. [200] or [200, 401]")
    insecure = entry.get("insecure", False)
    if not isinstance(insecure, bool):
        raise ConfigError(f"{where}.insecure", f"{insecure!r} is not true/false", "set true or false")
    ca_file = entry.get("caFile")
    if ca_file is not None and insecure:
        raise ConfigError(f"{where}.insecure", "is set together with caFile, which it would override",
                          "give caFile (verify against that CA) or insecure: true (no verification), not both")
    if ca_file is not None and not Path(str(ca_file)).expanduser().is_file():
        raise ConfigError(f"{where}.caFile", f"{ca_file} is not a file", "point it at the service's CA (PEM)")
    verify: str | bool = str(Path(str(ca_file)).expanduser()) if ca_file is not None else not insecure
    return HealthCheckSettings(str(entry.get("name") or entry["url"]), str(entry["url"]), tuple(expect),
                               _number(entry, "timeoutS", 5.0, where), verify)


def _list(settings: dict[str, Any], field: str) -> list[Any]:
    values = settings.get(field) or []
    if not isinstance(values, list):
        raise ConfigError(f"{OPERATIONS_KEY}.{field}", f"{str(values)[:60]!r} is not a list", "write it as a list")
    return values


def _template(settings: dict[str, Any], field: str, fields: tuple[str, ...]) -> str | None:
    value = settings.get(field)
    return None if value is None else checked_template(value, fields, f"{OPERATIONS_KEY}.{field}")


def operations_settings(raw: Any) -> OperationsSettings:
    """The `lxdha:operations` mapping (empty when unset), every entry checked."""
    settings = raw or {}
    if not isinstance(settings, dict):
        raise ConfigError(OPERATIONS_KEY, "must be an object", "see docs/config.md (operations)")
    check_known_keys(settings, KNOWN, OPERATIONS_KEY)
    checks = tuple(health_check(entry, f"{OPERATIONS_KEY}.healthChecks[{index}]")
                   for index, entry in enumerate(_list(settings, "healthChecks")))
    required = tuple(sysctl_assignment(text, f"{OPERATIONS_KEY}.hostRequirements[{index}]")
                     for index, text in enumerate(_list(settings, "hostRequirements")))
    return OperationsSettings(checks, required, _template(settings, "hostStep", HOST_STEP_FIELDS),
                              _template(settings, "sysctlReader", SYSCTL_READER_FIELDS))
