"""`python -m ops.restore --stack NEW --from-stack OLD --time '2026-12-06 01:40:00+00' [--yes]`: a new
PostgreSQL cluster brought back to a point in time from another cluster's backups.

Prepare the new stack like any other (its own `lxdha:postgres` name, VIP, VRID and `backup.s3.path` in the
same bucket). This command writes `lxdha:postgres.restore` into it (the source's backup path and stanza,
and the time), runs `pulumi preview` (which refuses a time no backup reaches), and with --yes
`pulumi up`. With the source stack gone, name its repository with --from-path and --stanza instead.
The source cluster and its backups are only read. Exit 0 when done (or previewed), 1 when pulumi
fails, 2 on bad arguments or config.
"""

from __future__ import annotations

import argparse

from cluster.errors import ConfigError
from config.postgres import KEY, parse_restore_time, postgres_settings
from ops import entry
from toolchain.pulumi_cli import ROOT, PulumiCli
from toolchain.stack_config import read_stack_config


def _source(args: argparse.Namespace) -> tuple[str, str]:
    """(repository path, stanza) of the cluster to restore."""
    if args.from_stack:
        raw = read_stack_config(args.from_stack).get(KEY)
        if not isinstance(raw, dict):
            raise ConfigError("--from-stack", f"stack {args.from_stack} has no {KEY}",
                              "name the source cluster's stack")
        source = postgres_settings(raw)
        return source.backup.path, source.name
    if not (args.from_path and args.stanza):
        raise ConfigError("--from-stack", "no source given", "pass --from-stack, or --from-path and --stanza")
    return args.from_path, args.stanza


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.restore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the new cluster's stack (it must not run a cluster yet)")
    parser.add_argument("--from-stack", help="the source cluster's stack (its backup path and name are read)")
    parser.add_argument("--from-path", help="the source's repository path in the bucket, e.g. /pg-prod")
    parser.add_argument("--stanza", help="the source's stanza: its lxdha:postgres.name")
    parser.add_argument("--time", required=True, help="'YYYY-MM-DD HH:MM:SS+00'")
    parser.add_argument("--yes", action="store_true", help="run `pulumi up` after the preview")
    args = parser.parse_args(argv)
    if parse_restore_time(args.time) is None:
        raise ConfigError("--time", f"{args.time[:40]!r} is not a point in time with its zone",
                          "write it as 'YYYY-MM-DD HH:MM:SS+00'")
    if not isinstance(read_stack_config(args.stack).get(KEY), dict):
        raise ConfigError("--stack", f"stack {args.stack} has no {KEY}",
                          f"give the new cluster its own {KEY} (name, VIP, VRID, backup.s3.path) first")
    path, stanza = _source(args)
    cli = PulumiCli(ROOT, args.stack)
    for field, value in (("path", path), ("stanza", stanza), ("time", args.time)):
        cli.run("config", "set", "--path", f"{KEY}.restore.{field}", value)
    print(f"{args.stack}: restore from {path} (stanza {stanza}) to {args.time}")
    cli.run("preview", echo=True)
    if not args.yes:
        print("previewed; run again with --yes to create the restored cluster")
        return 0
    cli.run("up", "--yes", "--skip-preview", echo=True)
    print(f"{args.stack}: restored; its endpoints: pulumi stack output postgres --stack {args.stack}")
    return 0


if __name__ == "__main__":
    entry.run(main, "restore")
