"""`python -m ops.host_check --stack lab`: checks on every member the kernel parameters the stack's
services declare (plus `--require KEY=VALUE`). Exit 0 when all hold, 1 naming each host and parameter
that does not (or cannot be read), 2 on bad arguments or config."""

from __future__ import annotations

import argparse
import sys

from cluster.connection import lxd_client
from cluster.errors import ConfigError, ConnectionSetupError
from ops import entry
from ops.cli_common import add_service_arguments, load, requirements_of, services_from, sysctl_reader_from
from ops.host_requirements import check_requirements
from ops.workloads import Scope, read_snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.host_check", description=__doc__)
    parser.add_argument("--stack", default="lab")
    parser.add_argument("--members", default=None, help="comma-separated (default: all)")
    add_service_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config, endpoint = load(args.stack)
        required = requirements_of(services_from(config, args))
        reader = sysctl_reader_from(config, args)
        if not required:
            print("no kernel parameters are declared for this stack's services")
            return 0
        if reader is None:
            raise ConfigError("lxdha:operations.sysctlReader", "no way to read the members' kernel parameters",
                              "set it (e.g. `ssh root@{address} sysctl -n {key}`) or pass --sysctl-reader")
        with lxd_client(endpoint) as client:
            info = read_snapshot(client, Scope()).member_info
        wanted = args.members.split(",") if args.members else sorted(info)
        report = check_requirements(required, {m: info[m].address for m in wanted if m in info}, reader)
    except (ConfigError, ConnectionSetupError, ValueError) as error:
        print(f"host_check: {error}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    print(f"{'OK' if report.ok else 'FAILED'}: {report.checked} value(s) checked on {len(wanted)} member(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    entry.run(main, "host-check")
