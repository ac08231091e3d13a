"""`python -m ops.maintenance --stack lab [--dry-run] [--host-step CMD]`: rolling maintenance of every
cluster member (see ops/rolling.py for the steps and gates). Exit 0 when all members were done,
1 when it stopped at a gate (the report says where), 2 on bad arguments or config."""

from __future__ import annotations

import argparse
import sys
import time

from cluster.connection import lxd_client
from cluster.errors import ConfigError, ConnectionSetupError
from config.operations import HOST_STEP_FIELDS, OPERATIONS_KEY, checked_template, operations_settings
from ops import entry
from ops.cli_common import (
    add_common_arguments,
    add_service_arguments,
    load,
    scope_from,
    services_from,
    sysctl_reader_from,
)
from ops.rolling import Options, Roll, return_home


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.maintenance", description=__doc__)
    add_common_arguments(parser)
    add_service_arguments(parser)
    parser.add_argument("--host-step", default=None, metavar="CMD",
                        help="command template run per member after evacuation: {member} {address} {python} "
                             "(default: lxdha:operations.hostStep; none = only evacuate/restore)")
    parser.add_argument("--members", default=None, help="comma-separated members (default: all, leader last)")
    parser.add_argument("--lxd-evacuate", choices=("auto", "yes", "no"), default="auto",
                        help="also use LXD's evacuate/restore (auto: only when the scope is every instance)")
    parser.add_argument("--gate-timeout-s", type=float, default=120.0)
    parser.add_argument("--return-home", action="store_true",
                        help="only move evacuated instances back to their members (recovery after a stop)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        config, endpoint = load(args.stack)
        settings = operations_settings(config.get(OPERATIONS_KEY))
        options = Options(
            scope=scope_from(args),
            members=args.members.split(",") if args.members else None,
            host_step=(checked_template(args.host_step, HOST_STEP_FIELDS, "--host-step") if args.host_step
                       else settings.host_step),
            services=services_from(config, args),
            sysctl_reader=sysctl_reader_from(config, args),
            lxd_evacuate={"auto": None, "yes": True, "no": False}[args.lxd_evacuate],
            gate_timeout_s=args.gate_timeout_s,
            dry_run=args.dry_run,
        )
        with lxd_client(endpoint) as client:
            if args.return_home:
                moved = return_home(client, options.scope)
                print(f"moved {len(moved)} instance(s) back in {time.monotonic() - started:.1f}s")
                return 0
            report = Roll(client, options).run()
    except (ConfigError, ConnectionSetupError, ValueError) as error:
        print(f"maintenance: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        print("dry run: the plan is above; nothing was changed")
    else:
        moved = sum(1 for m in report.moves if m.moved)
        print(f"{'done' if report.ok else 'STOPPED'}: {len(report.members_done)} member(s) done "
              f"({', '.join(report.members_done) or 'none'}), {moved} move(s), {report.seconds:.1f}s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    entry.run(main, "maintenance")
