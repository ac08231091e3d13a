"""The HA registry in the benchmark: from an empty cluster to serving through its VIP on a baked image,
then the VIP failover gap when the MASTER replica's container is force-stopped (a hard loss: the VRRP
master-down interval, not a graceful hand-over), measured by a probe through the VIP.

The registry's image (base + keepalived + docker-registry) is baked first on a stack of its own and
timed on its own (bench/bake.py); `serving_s` is the registry stack's `pulumi up` plus the wait until
https://<VIP>:5000/v2/ answers (401: a replica holds the VIP and its registry serves).
"""

from __future__ import annotations

import time
from typing import Any

from bench import cluster
from bench.bake import bake_overrides, baked
from bench.engine_events import step_seconds
from bench.lab_access import BenchSite
from bench.lxc import Lxc
from cluster.operations import execute
from cluster.polling import WaitTimeout, holds_within, wait_until
from config.registry import PACKAGES as REGISTRY_PACKAGES
from harness.lab_secrets import TLS_CERT, ensure_all
from harness.lab_stacks import lab_stack, registry_overrides
from harness.vip_probe import probing
from lab.config import LabConfig
from lab.info import LabInfo
from ops.health import HttpCheck
from ops.services import VRRP_STATE_FILE

REGISTRY_KEY = "lxdha:registry"
VIP, VRID, PREFIX = "10.91.0.249", 99, "bnreg"
STACK = "registry"  # bench-registry
SERVING_WAIT_S = 120


def bench_stack_config(config: dict[str, Any]) -> dict[str, Any]:
    """The container benchmarks never deploy a registry (it is measured on its own stack below)."""
    return {key: value for key, value in config.items() if key != REGISTRY_KEY}


def _master(client: Any) -> str | None:
    for name in (f"{PREFIX}-0", f"{PREFIX}-1"):
        if execute(client, name, ["cat", VRRP_STATE_FILE], timeout_s=20).stdout.strip() == "MASTER":
            return name
    return None


def vip_check(timeout_s: float = 1.0) -> HttpCheck:
    return HttpCheck("registry VIP", f"https://{VIP}:5000/v2/", (401,), timeout_s, str(TLS_CERT))



def measure(lab: LabInfo | None = None) -> dict[str, Any]:
    """{"bake_s", "up_s", "serving_s", "vip_failover_gap_s", "status"}; None where it failed."""
    lab = lab or LabInfo(LabConfig.resolve())
    ensure_all()
    result: dict[str, Any] = {"bake_s": None, "up_s": None, "serving_s": None, "vip_failover_gap_s": None,
                              "status": "failed"}
    lxc = Lxc.for_lab(BenchSite.load().data)
    try:
        with baked(lxc, cluster.online_members(lxc), name=f"{STACK}-bake", packages=REGISTRY_PACKAGES) as made:
            result.update(bake_s=made.seconds, bake_reused=made.reused)
            _measure_registry(lab, result)
    finally:
        lxc.remove()
    return result


def _measure_registry(lab: LabInfo, result: dict[str, Any]) -> None:
    overrides = {**bake_overrides(f"bench-{STACK}"),
                 **registry_overrides(lab.data, prefix=PREFIX, vip=VIP, vrid=VRID, root_directory="/bench-registry")}
    with lab_stack(STACK, overrides, prefix="bench") as cli:
        started = time.monotonic()
        events = cli.up_events()
        summary = next((e["summaryEvent"] for e in reversed(events) if "summaryEvent" in e), {})
        result["steps"] = step_seconds(events)  # where the up spends its time, per kind of resource
        if summary.get("result") != "succeeded":
            result["status"] = f"pulumi up failed: {summary.get('result')}"
            return
        result["up_s"] = round(time.monotonic() - started, 1)
        check = vip_check()
        if not holds_within(lambda: check.check().ok, timeout_s=SERVING_WAIT_S, poll_s=0.2):
            result["status"] = f"the VIP did not answer within {SERVING_WAIT_S} s of the up"
            return
        result["serving_s"] = round(time.monotonic() - started, 1)
        client = lab.lxd_client()
        try:
            master = wait_until(lambda: _master(client), timeout_s=30, poll_s=1, what="a MASTER replica")
        except WaitTimeout:
            result["status"] = "no replica became MASTER"
            return
        with probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
            time.sleep(2)
            client.api.instances[master].state.put(json={"action": "stop", "force": True})
            time.sleep(8)
        result["vip_failover_gap_s"] = round(probe.result.longest_gap_s, 2)
        result["status"] = f"hard stop of the MASTER replica ({master}); {probe.result.failures} failed probes"


def skipped() -> dict[str, Any]:
    return {"bake_s": None, "up_s": None, "serving_s": None, "vip_failover_gap_s": None,
            "status": "not measured (--no-registry)"}
