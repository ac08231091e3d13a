"""Command line: `python -m lab up|down|status|env|fault ...|lxc`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from cluster import logs
from cluster.errors import user_message
from cluster.polling import WaitTimeout
from lab import faults
from lab.cluster import statuses_seen
from lab.config import LabConfig
from lab.info import read_info
from lab.lease import lab_session
from lab.proc import LabError

log = logging.getLogger(__name__)

FAULTS = {
    "kill-member": (faults.kill_member, "SIGKILL a member's LXD daemon"),
    "restart-member": (faults.restart_member, "restart a member's LXD daemon and wait until ONLINE"),
    "cut-member": (faults.cut_member, "take a member's link to the lab segment down"),
    "heal-member": (faults.heal_member, "bring a cut member's link back up"),
    "stop-s3": (faults.stop_site_s3, "stop the S3 server on the site host"),
    "start-s3": (faults.start_site_s3, "start the S3 server on the site host"),
    "rotate-cert": (faults.rotate_cluster_certificate, "give the cluster a new certificate (lab.json follows)"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring the lab up (idempotent; resumes a failed run)")
    up.add_argument("--members", type=int, default=None, help="cluster members (default $LAB_MEMBERS or 3)")
    sub.add_parser("down", help="tear everything down and verify nothing is left")
    sub.add_parser("verify-clean", help="check that nothing of the lab is left (exit 1 if something is)")
    sub.add_parser("status", help="show what is running")
    env = sub.add_parser("env", help="what clients need (lab.json)")
    env.add_argument("--json", action="store_true", help="print lab.json (default: KEY=value lines)")
    fault = sub.add_parser("fault", help="inject a fault")
    fault.add_argument("kind", choices=sorted(FAULTS),
                       help="; ".join(f"{k}: {v[1]}" for k, v in sorted(FAULTS.items())))
    fault.add_argument("member", nargs="?", help="member name (m1..) for member faults")
    lxc = sub.add_parser("lxc", help="run the server's client (lxc or incus) against a member's local socket, "
                         "e.g. `lxc m1 cluster list`")
    lxc.add_argument("member")
    lxc.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _config(members: int | None = None) -> LabConfig:
    return LabConfig.resolve(members)


def _flatten(prefix: str, value: object, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}_{key}" if prefix else key, item, out)
    elif isinstance(value, list):
        out[prefix.upper()] = json.dumps(value)
    elif not (prefix.endswith("_pem")):
        out[prefix.upper()] = str(value)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.setup()
    try:
        if args.command == "up":
            from lab.up import summary, up
            started = time.monotonic()
            config = _config(args.members)
            with lab_session(config.cache_dir, "`python -m lab up`"):
                info = up(config)
            print(summary(info, statuses_seen(config)))
            log.info(f"lab up in {time.monotonic() - started:.1f}s")
        elif args.command == "down":
            from lab.teardown import down
            started = time.monotonic()
            config = _config()
            with lab_session(config.cache_dir, "`python -m lab down`"):
                problems = down(config)
            for problem in problems:
                print(f"LEFT: {problem}")
            if problems:
                return 1
            print("clean: no lab processes, namespaces, links, mounts, cgroups or files left")
            log.info(f"lab down in {time.monotonic() - started:.1f}s")
        elif args.command == "verify-clean":
            from lab.teardown import verify_clean
            problems = verify_clean(_config())
            for problem in problems:
                print(f"LEFT: {problem}")
            return 1 if problems else 0
        elif args.command == "status":
            from lab.status import collect, render
            print(render(collect(_config())))
        elif args.command == "env":
            data = read_info(_config())
            if data is None:
                print("the lab is not up (no lab.json); run `python -m lab up`", file=sys.stderr)
                return 1
            if args.json:
                print(json.dumps(data, indent=2, sort_keys=True))
            else:
                flat: dict[str, str] = {}
                _flatten("LAB", data, flat)
                for key, value in flat.items():
                    print(f"{key}={value}")
        elif args.command == "fault":
            fn, _ = FAULTS[args.kind]
            config = _config()
            if args.kind.endswith("-member"):
                if not args.member:
                    print(f"fault {args.kind} needs a member name", file=sys.stderr)
                    return 2
                result = fn(config, args.member)
            else:
                result = fn(config)
            if result is not None:
                print(result)
        elif args.command == "lxc":
            config = _config()
            member = config.member(args.member)
            client = config.server.client
            os.execvpe(client, [client, *args.args], config.server.client_env(member.lxd_dir, config.lab_dir))
    except (LabError, WaitTimeout) as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted (run the same command again: every step is idempotent)", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - one message, the traceback in the lab's log
        # the cache outlives the lab; its dir does not
        print(f"lab: unexpected error: {user_message(error, LabConfig.resolve().cache_dir / 'lab-errors.log')}",
              file=sys.stderr)
        return 1
    return 0
