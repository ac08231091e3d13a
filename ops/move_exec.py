"""Carries out planned moves with the product's own stop -> move -> start, one at a time, and keeps
the evacuation record (`user.lxdha.origin`) in the cluster itself, so a maintenance that stops half
way can be finished from any machine (`ops.maintenance --return-home`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pylxd

from cluster.facts import ORIGIN_KEY
from cluster.retry import with_retries
from cluster.steps import ensure_moved
from ops.moves import Move

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoveResult:
    move: Move
    seconds: float
    moved: bool  # False: it was already on the target (nothing done)


def set_origin(client: pylxd.Client, instance: str, member: str | None) -> None:
    """Records (or, with None, forgets) where an evacuated instance belongs; PATCH with "" unsets."""
    with_retries(lambda: client.api.instances[instance].patch(json={"config": {ORIGIN_KEY: member or ""}}),
                 f"record origin of {instance}")


def execute_moves(client: pylxd.Client, moves: Sequence[Move], *, record_origin: bool = False,
                  clear_origin: bool = False) -> list[MoveResult]:
    """Each move in order; the first failure propagates (later moves are not attempted)."""
    results = []
    for move in moves:
        started = time.monotonic()
        if record_origin:
            set_origin(client, move.instance, move.source)
        moved = ensure_moved(client, move.instance, move.target)
        if clear_origin:
            set_origin(client, move.instance, None)
        seconds = time.monotonic() - started
        log.info(f"  moved {move.instance} {move.source} -> {move.target} in {seconds:.1f}s" if moved
                 else f"  {move.instance} already on {move.target}: nothing to do")
        results.append(MoveResult(move, seconds, moved))
    return results
