"""HOOK for the HA registry (HARegistry is being built separately): once it exists, deploy it on
the bench stack and measure the VIP failover gap here. Until then every figure is None, and the
report says so instead of inventing a number."""

from __future__ import annotations

from typing import Any

REGISTRY_KEY = "lxdha:registry"
INCLUDE_REGISTRY = False  # flip (or make it a --registry flag) once HARegistry is done
PENDING = "HARegistry not built yet: bench/registry_hook.py returns null"


def bench_stack_config(config: dict[str, Any]) -> dict[str, Any]:
    """The bench stack deploys only the N containers for now: the lab stack's registry section is
    dropped, so an unfinished HARegistry can neither fail nor slow the container figures."""
    if INCLUDE_REGISTRY:
        return config
    return {key: value for key, value in config.items() if key != REGISTRY_KEY}


def registry_up_s(_cli: Any) -> float | None:
    """Wall time of `pulumi up` including the registry (to add: enable it in the bench stack file)."""
    return None


def vip_failover_gap_s(_lab_data: dict[str, Any]) -> float | None:
    """Seconds the registry VIP does not answer while its MASTER member is stopped (to add)."""
    return None


def measure() -> dict[str, Any]:
    return {"up_s": registry_up_s(None), "vip_failover_gap_s": vip_failover_gap_s({}), "status": PENDING}
