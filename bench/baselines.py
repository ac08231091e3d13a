"""Baseline A (the seed, serial, `shuf` rebalance) and baseline B (the floor: parallel, explicit
targets, no Pulumi). Both run `flow.sh`, so they do byte-for-byte the same bootstrap and playbook."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.lab_access import BenchSite
from bench.lxc import Lxc
from bench.proc import run_bounded
from bench.workdir import RunDir, mac_for

FLOW = Path(__file__).resolve().parent / "flow.sh"
PER_CONTAINER_TIMEOUT_S = 900


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


def baseline_a(lxc: Lxc, site: BenchSite, image: str, count: int, parent: Path | None = None) -> FlowResult:
    """The seed: one container after another, LXD's placement, then a coin toss and maybe a move."""
    run = RunDir.create(site, "bna", count, parent)
    started = time.monotonic()
    result = FlowResult(0.0)
    for name in run.names:
        seconds, moved, retries = _flow(lxc, site, run, image, name, "-")
        result.per_container_s.append(round(seconds, 2))
        result.moves += int(moved)
        result.move_retries += retries
    result.wall_s = time.monotonic() - started
    return result


def baseline_b(lxc: Lxc, site: BenchSite, image: str, count: int, members: list[str], workers: int,
               parent: Path | None = None) -> FlowResult:
    """The floor: targets dealt round-robin up front, `workers` containers in flight at once."""
    run = RunDir.create(site, "bnb", count, parent)
    targets = {name: members[index % len(members)] for index, name in enumerate(run.names)}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, count))) as pool:
        timings = list(pool.map(lambda name: _flow(lxc, site, run, image, name, targets[name])[0], run.names))
    return FlowResult(time.monotonic() - started, per_container_s=[round(t, 2) for t in timings])
