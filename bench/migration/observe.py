"""What the migration benchmark watches: each replica's identity (replaced? restarted? moved?) read from
LXD and from inside the container, and the sample images a client pulls through the VIP meanwhile (the
client is harness.pull_loop)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cluster.operations import execute
from harness.registry_client import Image, Skopeo

SERVICES = ("docker-registry", "keepalived")
# init's start time (clock ticks since boot, field 22 of /proc/1/stat) and each service's last start
INSIDE = ("cut -d' ' -f22 /proc/1/stat; for unit in " + " ".join(SERVICES) + "; do "
          "systemctl show -p ExecMainStartTimestampMonotonic --value \"$unit\"; done")


@dataclass(frozen=True)
class ReplicaFacts:
    """One container as LXD and its own init see it."""

    name: str
    uuid: str  # volatile.uuid: new only when the container is created anew
    created_at: str
    location: str
    status: str
    last_used_at: str  # LXD sets it when the container starts
    init_pid: int  # the host's pid of the container's init: new on every start
    init_started: str  # /proc/1/stat starttime inside the container
    service_started: dict[str, str] = field(default_factory=dict)  # unit -> ExecMainStartTimestampMonotonic


def read_replica(client: Any, name: str) -> ReplicaFacts:
    record = client.api.instances[name].get().json()["metadata"]
    state = client.api.instances[name].state.get().json()["metadata"]
    inside = execute(client, name, ["sh", "-c", INSIDE], timeout_s=30).stdout.split()
    return ReplicaFacts(
        name=name, uuid=(record.get("config") or {}).get("volatile.uuid", ""), created_at=record.get("created_at", ""),
        location=record.get("location", ""), status=record.get("status", ""),
        last_used_at=record.get("last_used_at", ""), init_pid=int(state.get("pid") or 0),
        init_started=inside[0] if inside else "",
        service_started=dict(zip(SERVICES, inside[1:], strict=False)))


def compare(before: dict[str, ReplicaFacts], after: dict[str, ReplicaFacts]) -> dict[str, Any]:
    """Which containers were replaced (new uuid or creation time, or gone), restarted (same container, new
    init), moved (another member), and which of their services restarted."""
    replaced, restarted, moved, services = [], [], [], []
    for name, old in sorted(before.items()):
        new = after.get(name)
        if new is None or (new.uuid, new.created_at) != (old.uuid, old.created_at):
            replaced.append(name)
            continue
        if (new.init_pid, new.init_started) != (old.init_pid, old.init_started) or new.status != old.status:
            restarted.append(name)
        if new.location != old.location:
            moved.append(name)
        services += [f"{name}:{unit}" for unit, stamp in old.service_started.items()
                     if new.service_started.get(unit) != stamp]
    return {"replaced": replaced, "restarted": restarted, "moved": moved, "services_restarted": services}


def facts_json(facts: dict[str, ReplicaFacts]) -> dict[str, dict[str, Any]]:
    return {name: asdict(one) for name, one in sorted(facts.items())}


def push_samples(skopeo: Skopeo, work: Path, count: int, repository: str = "bench/migration") -> list[Image]:
    """`count` small images with unique content, pushed through the VIP; raises when a push fails."""
    pushed = []
    for index in range(count):
        tag = f"v{index + 1}"
        digest = skopeo.push_sample(work / tag, repository, tag, f"migration sample {tag} {time.time()}")
        pushed.append(Image(repository, tag, digest))
    return pushed
