"""What `pulumi up --json` engine events say about where an up spent its time."""

from __future__ import annotations

from typing import Any


def step_seconds(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Seconds from each resource's pre-event to its outputs (1 s resolution), grouped by the
    name's last part (placement, instance, bootstrap, configure, image, bake): shows where an `up`
    spends its time (our dynamic resources and the native provider's)."""
    begun: dict[str, int] = {}
    steps: dict[str, list[int]] = {}
    for event in events:
        for kind in ("resourcePreEvent", "resOutputsEvent"):
            if kind in event and event[kind]["metadata"].get("op") in ("create", "update"):
                urn = event[kind]["metadata"]["urn"]
                if kind == "resourcePreEvent":
                    begun[urn] = event["timestamp"]
                elif urn in begun and ("dynamic:Resource" in urn or "$lxd:index/" in urn):
                    steps.setdefault(urn.rsplit("-", 1)[-1], []).append(event["timestamp"] - begun[urn])
    first = min((e["timestamp"] for e in events if "timestamp" in e), default=0)
    if begun:
        steps["first-step-after-start"] = [min(begun.values()) - first]
    return steps
