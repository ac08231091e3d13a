"""Runs the matrix (sizes x runs x approaches), one approach at a time, cleaning up after each.

"ours" runs on a baked image, baked once per session before the first measurement (bench/bake.py):
the bake is timed and reported on its own, never inside a measured `up`.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import baselines, capacity, cluster, ours
from bench.bake import Bake, baked
from bench.image import ensure_image, held, warm_members
from bench.lab_access import BenchSite
from bench.lxc import Lxc
from cluster.polling import holds_within
from harness.lab_secrets import ensure_all

log = logging.getLogger(__name__)

APPROACHES = ("A", "Ap", "B", "ours")  # Ap = A-parallel: the seed's flow, 10 in flight (Terraform's default)
PREFIX = {"A": "bna", "Ap": "bnp", "B": "bnb", "ours": ours.PREFIX}
LEASE_WAIT_S = 720  # a deleted container's lease expires after the lab's 10 min


class CapacityError(RuntimeError):
    """The host cannot boot that many more containers right now (see bench/capacity.py)."""


@dataclass
class Settings:
    sizes: list[int]
    runs: int
    approaches: tuple[str, ...]
    floor_workers: int
    scratch: Path
    runs_at: dict[int, int] = field(default_factory=dict)
    seed_workers: int = 10  # A-parallel: containers in flight, as `terraform apply -parallelism=10`

    def runs_for(self, n: int) -> int:
        return self.runs_at.get(n, self.runs)


def client_cpu_s() -> float:
    """User+system CPU of every finished child of this process (lxc, ansible, pulumi and its plugins):
    on 2 shared cores the client side's own CPU is wall time the containers do not get."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_leases(site: BenchSite, needed: int) -> None:
    """Waits (bounded) until the DHCP pool can serve `needed` new containers."""
    def enough() -> bool:
        free = site.free_leases()
        if free < needed:
            log.info(f"DHCP pool: {free} free, {needed} needed; waiting for old leases to expire")
        return free >= needed

    holds_within(enough, timeout_s=LEASE_WAIT_S, poll_s=15)


def order_for(run: int, approaches: tuple[str, ...]) -> list[str]:
    """Rotates the order per run, so no approach always gets the warm (or the cold) cluster."""
    shift = run % len(approaches)
    return list(approaches[shift:] + approaches[:shift])


def _run_one(approach: str, n: int, lxc: Lxc, site: BenchSite, image: str, settings: Settings) -> dict[str, Any]:
    entry: dict[str, Any] = {"approach": approach, "n": n}
    if approach == "ours":
        cli = ours.prepare(n)
        try:
            result = ours.measure(cli, client_cpu_s)
            entry.update(wall_s=round(result.wall_s, 2), engine_s=result.engine_s,
                         noop_up_s=round(result.noop_up_s, 2) if result.noop_up_s else None,
                         noop_changes=result.noop_changes, steps=result.steps,
                         noop_updates=result.noop_updates, client_cpu_s=result.up_cpu_s,
                         noop_samples_s=result.noop_samples_s)
            entry["spread"], entry["counts"] = cluster.final_spread(lxc, PREFIX[approach])
        finally:
            problems = ours.tear_down(cli)
            if problems:  # the stack is gone (rm --force); its aliases may not be: they are ours alone
                entry["cleanup_problems"] = problems
                for alias in (ours.BENCH_ALIAS, ours.BENCH_BAKED_ALIAS):
                    lxc.run("image", "alias", "delete", f"lab:{alias}", check=False, timeout=60)
        return entry
    runner: Callable[[], baselines.FlowResult]
    if approach in ("A", "Ap"):
        workers = 1 if approach == "A" else settings.seed_workers

        def runner() -> baselines.FlowResult:
            return baselines.baseline_a(lxc, site, image, n, settings.scratch, workers, PREFIX[approach])
    else:
        def runner() -> baselines.FlowResult:
            return baselines.baseline_b(lxc, site, image, n, cluster.online_members(lxc), settings.floor_workers,
                                        settings.scratch)
    cpu_before = client_cpu_s()
    result = runner()
    entry["client_cpu_s"] = round(client_cpu_s() - cpu_before, 1)
    entry.update(wall_s=round(result.wall_s, 2), moves=result.moves, move_retries=result.move_retries,
                 per_container_s=result.per_container_s)
    entry["spread"], entry["counts"] = cluster.final_spread(lxc, PREFIX[approach])
    return entry


def schedule(settings: Settings) -> Iterator[tuple[int, int, str]]:
    """(run, n, approach) in measuring order: run by run, every size still due, approaches rotated."""
    for run in range(max(settings.runs_for(n) for n in settings.sizes)):
        for n in (n for n in settings.sizes if run < settings.runs_for(n)):
            for approach in order_for(run, settings.approaches):
                yield run, n, approach


def _recorded(run: int, n: int, approach: str, lxc: Lxc, site: BenchSite, image: str,
              settings: Settings) -> dict[str, Any]:
    """One measurement as a result entry; a failure is recorded in it and the matrix goes on."""
    wait_for_leases(site, n + 3)
    log.info(f"run {run + 1}/{settings.runs_for(n)} N={n} {approach}")
    started = time.monotonic()
    try:
        problem = capacity.capacity_problem(n)
        if problem:
            raise CapacityError(problem)
        entry = _run_one(approach, n, lxc, site, image, settings)
    except ours.PulumiError as error:
        entry = {"approach": approach, "n": n, "error": f"pulumi: {ours.failure_summary(error)}"}
        log.info(entry["error"])
    except CapacityError as error:
        entry = {"approach": approach, "n": n, "error": str(error), "skipped": True}
        log.info(str(error))
    except Exception as error:
        entry = {"approach": approach, "n": n, "error": f"{type(error).__name__}: {error}"[-2000:]}
        traceback.print_exc(file=sys.stderr)
    finally:
        failed = cluster.delete_prefixed(lxc, (f"{PREFIX[approach]}-",))
    if failed:
        entry.setdefault("cleanup_problems", []).extend(failed)
    entry["run"] = run + 1
    log.info(f"  -> {entry.get('wall_s', 'failed')} s, spread {entry.get('spread')} "
        f"({time.monotonic() - started:.0f} s incl. clean-up)")
    return entry


def run_matrix(settings: Settings) -> dict[str, Any]:
    ensure_all()  # the SSH key every approach logs in with (a fresh clone has none yet)
    site = BenchSite.load()
    lxc = Lxc.for_lab(site.data, settings.scratch)
    prefixes = tuple(f"{PREFIX[a]}-" for a in APPROACHES)
    leftovers = cluster.delete_prefixed(lxc, prefixes)
    if leftovers:
        raise RuntimeError(f"could not remove leftovers of an earlier run: {leftovers}")
    members = cluster.online_members(lxc)
    log.info(f"image + warm-up on {', '.join(members)}")
    image = ensure_image()
    warm_members(lxc, image, members)
    results: list[dict[str, Any]] = []
    bake: dict[str, Any] | None = None
    interrupted = False
    try:
        # held: ours' destroy must not take the baselines' image with it; ours' bake lasts as long as `session`
        with held(lxc, image), contextlib.ExitStack() as session:
            if "ours" in settings.approaches:
                bake = _bake_once(session, lxc, members)
                if "error" in bake:
                    settings = replace(settings, approaches=tuple(a for a in settings.approaches if a != "ours"))
            for run, n, approach in schedule(settings):
                results.append(_recorded(run, n, approach, lxc, site, image, settings))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the clean-up above has run; keep what was measured
        interrupted = True
        log.info("interrupted: writing the runs measured so far")
    finally:
        lxc.remove()
    return {"members": members, "image": image, "bake": bake, "results": results, "interrupted": interrupted}


def _bake_once(session: contextlib.ExitStack, lxc: Lxc, members: list[str]) -> dict[str, Any]:
    """Bakes ours' image for the whole session (held until `session` closes); a failed bake is recorded
    and ours is left out rather than measured with a bake inside its `up`."""
    log.info("baking ours' image (timed on its own)")
    try:
        made: Bake = session.enter_context(baked(lxc, members))
    except Exception as error:  # noqa: BLE001 - recorded in the results; the baselines still run
        traceback.print_exc(file=sys.stderr)
        return {"error": f"{type(error).__name__}: {error}"[-2000:]}
    log.info(f"  -> baked in {made.seconds} s{' (reused an existing image)' if made.reused else ''}")
    return made.record()
