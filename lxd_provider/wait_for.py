"""An Instance's `waitFors` (upstream's `wait_for` blocks): conditions awaited, in the order declared,
after the provider started the instance (its create, or an update that started or moved it), before
the outputs are read and dependent resources go on:

- `ipv4` / `ipv6`: a global address on `nic`, else on the interface config `user.access_interface`
  names, else on any interface;
- `ready`: the instance reports the Ready status (it says so itself, through /dev/lxd; on Incus /dev/incus);
- `agent`: a VM's agent answers (LXD sees its processes);
- `delay`: a fixed time, e.g. "30s" or "1m30s".

Every entry is checked at preview, naming it (waitFors[1]) and its value.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import pylxd

from cluster.errors import StepFailed
from cluster.facts import global_addresses, is_running, read_instance, read_state
from cluster.polling import WaitTimeout, wait_until
from cluster.retry import with_retries
from cluster.server_family import server_family
from lxd_provider.base import Failures
from lxd_provider.spec import STRING, Prop, TypeSpec
from lxd_provider.values import has_unknowns

WAIT_TIMEOUT_S = 180  # upstream's
KINDS = ("agent", "delay", "ipv4", "ipv6", "ready")
WAIT_FOR = TypeSpec("lxd:index/InstanceWaitFor:InstanceWaitFor", "A condition awaited once the instance is "
                    "started.", (
                        Prop("type", STRING, f"{', '.join(KINDS)}.", required=True),
                        Prop("delay", STRING, 'With type delay: how long, e.g. "30s", "1m30s".'),
                        Prop("nic", STRING, "With type ipv4 or ipv6: the interface that must get the address."),
                    ))
DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_s(text: str) -> float | None:
    """Seconds in a Go duration ("30s", "1m30s", "0"); None when it is not one."""
    if text == "0":
        return 0.0
    parts = DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * UNIT_S[unit] for number, unit in parts)


def wait_for_problems(entries: Any, instance_type: Any) -> Failures:
    """What is wrong with each declared condition; values not known yet (preview) are checked when they are."""
    failures: Failures = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, Mapping) or has_unknowns(entry.get("type")):
            continue
        kind, where = entry.get("type"), f"waitFors[{index}]"
        if kind not in KINDS:
            failures.append(("waitFors", f"{where}: type {kind!r} must be one of {', '.join(KINDS)}"))
            continue
        if entry.get("nic") is not None and kind not in ("ipv4", "ipv6"):
            failures.append(("waitFors", f"{where}: nic goes only with type ipv4 or ipv6"))
        delay = entry.get("delay")
        if (delay is not None) != (kind == "delay"):
            failures.append(("waitFors", f"{where}: delay goes with type delay, and type delay needs it"))
        elif kind == "delay" and not has_unknowns(delay) and duration_s(str(delay)) is None:
            failures.append(("waitFors", f"{where}: delay {delay!r} is not a duration such as \"30s\" or "
                                         "\"1m30s\""))
        if kind == "agent" and instance_type != "virtual-machine":
            failures.append(("waitFors", f"{where}: only a virtual machine has an agent to wait for"))
    return failures


def _until(client: pylxd.Client, name: str, check: Any, what: str, fix: str) -> None:
    def probe() -> bool:
        return bool(check(with_retries(lambda: read_state(client, name), f"read {name}'s state") or {}))

    try:
        wait_until(probe, timeout_s=WAIT_TIMEOUT_S, what=f"{what} of {name}", poll_s=2)
    except WaitTimeout:
        raise StepFailed(f"instance {name}", f"{what} did not come within {WAIT_TIMEOUT_S}s", fix) from None


def await_conditions(client: pylxd.Client, name: str, entries: Any) -> None:
    """Waits for each declared condition in turn; a StepFailed naming the first one that does not come."""
    server = server_family(client)
    for entry in entries or []:
        kind = entry["type"]
        if kind == "delay":
            time.sleep(duration_s(str(entry["delay"])) or 0.0)
        elif kind in ("ipv4", "ipv6"):
            record = with_retries(lambda: read_instance(client, name), f"read {name}") or {}
            nic = entry.get("nic") or (record.get("expanded_config") or {}).get("user.access_interface")
            family = "inet" if kind == "ipv4" else "inet6"
            _until(client, name, lambda state, nic=nic, family=family: global_addresses(state, family, nic),
                   f"a global {kind} address on {nic or 'any interface'}",
                   "check DHCP/SLAAC on its network, or the nic named in waitFors")
        elif kind == "ready":
            _until(client, name, lambda state: state.get("status") == "Ready", "the Ready status",
                   f"make the instance report it (e.g. cloud-init or a unit that PATCHes {server.guest_socket}'s "
                   "/1.0 with state Ready), or drop the ready condition")
        else:  # agent
            _until(client, name, lambda state: is_running(state) and state.get("processes", 0) > 0,
                   "the VM agent", f"check that the image runs {server.vm_agent} (`{server.cli} info --show-log` "
                                   "on the VM)")
