"""What the migration benchmark watches: each replica's identity (replaced? restarted? moved?) read from
LXD and from inside the container, and a client pulling the pushed images through the VIP meanwhile."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.testing import execute
from ops.registry_client import Skopeo

SERVICES = ("docker-registry", "keepalived")
# init's start time (clock ticks since boot, field 22 of /proc/1/stat) and each service's last start
INSIDE = ("cut -d' ' -f22 /proc/1/stat; for unit in " + " ".join(SERVICES) + "; do "
          "systemctl show -p ExecMainStartTimestampMonotonic --value \"$unit\"; done")
PULL_LOOP_MAX_S = 1800  # a loop never outlives this, even if the caller forgets to stop it


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
    inside = execute(client, name, ["sh", "-c", INSIDE], timeout=30).stdout.split()
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


@dataclass(frozen=True)
class PushedImage:
    repository: str
    tag: str
    digest: str


def push_samples(skopeo: Skopeo, work: Path, count: int, repository: str = "bench/migration") -> list[PushedImage]:
    """`count` small images with unique content, pushed through the VIP; raises when a push fails."""
    pushed = []
    for index in range(count):
        tag = f"v{index + 1}"
        digest = skopeo.push_sample(work / tag, repository, tag, f"migration sample {tag} {time.time()}")
        pushed.append(PushedImage(repository, tag, digest))
    return pushed


def pull_matches(skopeo: Skopeo, image: PushedImage) -> bool:
    """A real pull (manifest and blobs) whose manifest digest is the one pushed."""
    destination = Path(tempfile.mkdtemp(prefix="lxdha-pull-"))
    try:
        result = skopeo.pull(image.repository, image.tag, destination / "oci")
        if result.returncode != 0:
            return False
        index = json.loads((destination / "oci" / "index.json").read_text())
        return index["manifests"][0]["digest"] == image.digest
    except (OSError, ValueError, KeyError, IndexError):
        return False
    finally:
        shutil.rmtree(destination, ignore_errors=True)


class PullLoop:
    """Pulls the pushed images round-robin until stopped; a pull that fails is retried once, after 1 s.
    A pull whose retry fails too is a failed pull."""

    def __init__(self, skopeo: Skopeo, images: list[PushedImage]) -> None:
        self.skopeo, self.images = skopeo, images
        self.pulls = self.retried = 0
        self.failed: list[str] = []
        self.slowest_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + PULL_LOOP_MAX_S
        while not self._stop.is_set() and time.monotonic() < deadline:
            image = self.images[self.pulls % len(self.images)]
            self.pulls += 1
            started = time.monotonic()
            if not pull_matches(self.skopeo, image):
                self.retried += 1
                time.sleep(1)
                if not pull_matches(self.skopeo, image):
                    self.failed.append(f"{image.repository}:{image.tag} at {time.strftime('%H:%M:%S')}")
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)
            self._stop.wait(0.2)

    def __enter__(self) -> PullLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=300)

    def summary(self) -> dict[str, Any]:
        return {"pulls": self.pulls, "retried": self.retried, "failed": len(self.failed),
                "failed_pulls": self.failed, "slowest_pull_s": round(self.slowest_s, 2)}
