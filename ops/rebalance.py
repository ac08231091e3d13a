"""`python -m ops.rebalance --stack lab [--dry-run]`: moves only the containers whose move restores
anti-affinity or evens out the members (ops/rebalance_plan.py), with stop -> move -> start.
Exit 0 when done (or nothing to do), 2 on bad arguments or config."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import pylxd

from cluster.connection import lxd_client
from cluster.errors import ConfigError, ConnectionSetupError
from ops import entry
from ops.cli_common import add_common_arguments, load, scope_from
from ops.move_exec import MoveResult, execute_moves
from ops.moves import Move, online_names, spread_of, violations
from ops.rebalance_plan import plan_rebalance
from ops.workloads import ClusterSnapshot, Scope, read_snapshot
from toolchain.pulumi_cli import ROOT, PulumiCli

log = logging.getLogger(__name__)


def describe(snapshot: ClusterSnapshot) -> str:
    online = online_names(snapshot.members)
    placement = {w.name: w.member for w in snapshot.workloads}
    per_member = ", ".join(f"{m.name} {m.instances}" + ("" if m.online else f" ({snapshot.member_info[m.name].status})")
                           for m in snapshot.members)
    return (f"{per_member}; spread {spread_of(snapshot.workloads, placement, online)}, "
            f"anti-affinity violations {violations(snapshot.workloads, placement, online)}")


def rebalance(client: pylxd.Client, scope: Scope, dry_run: bool,
              max_moves: int | None = None) -> tuple[list[Move], list[MoveResult]]:
    """The plan, and what was done (nothing on a dry run)."""
    snapshot = read_snapshot(client, scope)
    log.info(f"before: {describe(snapshot)}; scope: {scope.describe()} ({len(snapshot.in_scope())} movable)")
    moves = plan_rebalance(snapshot.members, snapshot.workloads, max_moves)
    for move in moves:
        log.info(("would " if dry_run else "") + move.describe())
    if not moves:
        log.info("nothing to move: no single move restores anti-affinity or evens out the members")
    if dry_run or not moves:
        return moves, []
    results = execute_moves(client, moves)
    log.info(f"after: {describe(read_snapshot(client, scope))}")
    return moves, results


def refresh_stack(stack: str) -> None:
    """Moves change where containers live; a refresh records it in the stack's state (instances
    implement `read`), so the next `pulumi up` and its outputs see the cluster as it is."""
    log.info(f"pulumi refresh --stack {stack} (record the new members in the state)")
    PulumiCli(ROOT, stack).run("refresh", "--yes", "--skip-preview")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.rebalance", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--max-moves", type=int, default=None, help="stop after this many moves")
    parser.add_argument("--no-refresh", action="store_true",
                        help="skip `pulumi refresh` after moving (the stack's member outputs stay stale)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        _, endpoint = load(args.stack)
        with lxd_client(endpoint) as client:
            moves, results = rebalance(client, scope_from(args), args.dry_run, args.max_moves)
    except (ConfigError, ConnectionSetupError, ValueError) as error:
        print(f"rebalance: {error}", file=sys.stderr)
        return 2
    if any(result.moved for result in results) and not args.no_refresh:
        refresh_stack(args.stack)
    verb = "planned" if args.dry_run else "moved"
    print(f"{verb} {len(moves) if args.dry_run else sum(r.moved for r in results)} instance(s) "
          f"in {time.monotonic() - started:.1f}s" + (" (dry run: nothing was changed)" if args.dry_run else ""))
    return 0


if __name__ == "__main__":
    entry.run(main, "rebalance")
