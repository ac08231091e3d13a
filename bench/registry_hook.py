"""The HA registry in the benchmark: `pulumi up` of a 2-replica HARegistry on a throw-away bench stack,
then the VIP failover gap when the MASTER replica's container is force-stopped (a hard loss: the
VRRP master-down interval, not a graceful hand-over), measured by a probe through the VIP."""

from __future__ import annotations

import time
from typing import Any

from lab.config import LabConfig
from lab.info import LabInfo
from lab.testing import execute
from ops.lab_secrets import TLS_CERT, ensure_all
from ops.lab_stacks import lab_stack, registry_overrides
from ops.services import VRRP_STATE_FILE
from ops.vip_probe import probing

REGISTRY_KEY = "lxdha:registry"
VIP, VRID, PREFIX = "10.91.0.249", 99, "bnreg"


def bench_stack_config(config: dict[str, Any]) -> dict[str, Any]:
    """The container benchmarks never deploy a registry (it is measured on its own stack below)."""
    return {key: value for key, value in config.items() if key != REGISTRY_KEY}


def _master(client: Any) -> str | None:
    for name in (f"{PREFIX}-0", f"{PREFIX}-1"):
        if execute(client, name, ["cat", VRRP_STATE_FILE], timeout=20).stdout.strip() == "MASTER":
            return name
    return None


def measure(lab: LabInfo | None = None) -> dict[str, Any]:
    """{"up_s", "vip_failover_gap_s", "status"}; figures are None when the measurement failed."""
    lab = lab or LabInfo(LabConfig.resolve())
    ensure_all()
    result: dict[str, Any] = {"up_s": None, "vip_failover_gap_s": None, "status": "failed"}
    overrides = registry_overrides(lab.data, prefix=PREFIX, vip=VIP, vrid=VRID, root_directory="/bench-registry")
    with lab_stack("registry", overrides, prefix="bench") as cli:
        started = time.monotonic()
        summary = cli.up_summary()
        if summary.get("result") != "succeeded":
            result["status"] = f"pulumi up failed: {summary.get('result')}"
            return result
        result["up_s"] = round(time.monotonic() - started, 1)
        client = lab.lxd_client()
        deadline = time.monotonic() + 30
        while (master := _master(client)) is None and time.monotonic() < deadline:
            time.sleep(1)
        if master is None:
            result["status"] = "no replica became MASTER"
            return result
        with probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
            time.sleep(2)
            client.api.instances[master].state.put(json={"action": "stop", "force": True})
            time.sleep(8)
        result["vip_failover_gap_s"] = round(probe.result.longest_gap_s, 2)
        result["status"] = f"hard stop of the MASTER replica ({master}); {probe.result.failures} failed probes"
    return result


def skipped() -> dict[str, Any]:
    return {"up_s": None, "vip_failover_gap_s": None, "status": "not measured (--no-registry)"}
