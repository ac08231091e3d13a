"""Baseline A (the seed, serial, `shuf` rebalance), A-parallel (the same flow with 10 containers in flight,
as Terraform runs it) and baseline B (the floor: parallel, explicit targets, no Pulumi). All run
`flow.sh`, so they do byte-for-byte the same bootstrap and playbook."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.lab_access import BenchSite
from bench.lxc import Lxc
from bench.proc import run_bounded
from bench.workdir import RunDir, mac_for

FLOW = Path(__file__).resolve().parent / "flow.sh"
PER_CONTAINER_TIMEOUT_S = 900
T = TypeVar("T")


class FlowError(RuntimeError):
    """One container's flow failed; names it and carries the script's stderr."""


@dataclass
class FlowResult:
    wall_s: float
    moves: int = 0
    move_retries: int = 0
    per_container_s: list[float] = field(default_factory=list)


def _flow(lxc: Lxc, site: BenchSite, run: RunDir, image: str, name: str, target: str) -> tuple[float, bool, int]:
    env = run.ansible_env(lxc.env(), site)
    started = time.monotonic()
    done = run_bounded(["sh", str(FLOW), name, image, mac_for(name), target, str(run.path),
                        str(site.ansible_dir / site.playbook)], timeout=PER_CONTAINER_TIMEOUT_S, env=env)
    if done.returncode != 0:
        raise FlowError(f"{name}: flow.sh exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return time.monotonic() - started, "rebalancing" in done.stdout, done.stdout.count("move retry")


def _in_flight(names: list[str], one: Callable[[str], T], workers: int) -> list[T]:
    """`one(name)` for every name, at most `workers` at once, results in name order. The first failure
    stops what has not started yet (in-flight flows finish; their containers are cleaned up by prefix)."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
        futures = [pool.submit(one, name) for name in names]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def baseline_a(lxc: Lxc, site: BenchSite, image: str, count: int, parent: Path | None = None,
               workers: int = 1, prefix: str = "bna") -> FlowResult:
    """The seed: LXD's placement, then a coin toss and maybe a move, per container. `workers` = 1 is
    baseline A (one after another); 10 is A-parallel, the seed's `count` as Terraform runs it
    (default -parallelism=10: each container's create and its local-exec provisioner hold one slot)."""
    run = RunDir.create(site, prefix, count, parent)
    started = time.monotonic()
    flows = _in_flight(run.names, lambda name: _flow(lxc, site, run, image, name, "-"), workers)
    return FlowResult(time.monotonic() - started, moves=sum(int(moved) for _, moved, _ in flows),
                      move_retries=sum(retries for _, _, retries in flows),
                      per_container_s=[round(seconds, 2) for seconds, _, _ in flows])


def baseline_b(lxc: Lxc, site: BenchSite, image: str, count: int, members: list[str], workers: int,
               parent: Path | None = None) -> FlowResult:
    """The floor: targets dealt round-robin up front, `workers` containers in flight at once."""
    run = RunDir.create(site, "bnb", count, parent)
    targets = {name: members[index % len(members)] for index, name in enumerate(run.names)}
    started = time.monotonic()
    flows = _in_flight(run.names, lambda name: _flow(lxc, site, run, image, name, targets[name]), workers)
    return FlowResult(time.monotonic() - started, per_container_s=[round(seconds, 2) for seconds, _, _ in flows])
