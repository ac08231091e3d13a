"""`make soak` / `python -m bench.soak --rolls K`: K consecutive maintenance rolls of the running lab with
one fault injected during each, while a client pulls through the HA registry's VIP.

Writes the result JSON, a PNG and the soak section of BENCHMARKS.md. A long soak can run in chunks
(`--rolls 7 --first-roll 8 --out part2.json`, ...) merged with `--from-json part1.json part2.json ...`.
Exit 0 when the target is met: every roll completes, no pull fails twice, every image pushed before the
soak pulls with its digest afterwards.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.soak.faults import KINDS
from bench.soak.plot import soak_plot
from bench.soak.report import merge, render_section, replace_section, write_json
from bench.soak.session import SoakSettings, run_soak
from cluster import logs
from lab.config import LabConfig
from lab.info import read_info
from lab.lease import lab_session
from lab.proc import LabError
from toolchain.pulumi_cli import STATE_DIR

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rolls", type=int, default=20, help="consecutive maintenance rolls (default 20)")
    parser.add_argument("--first-roll", type=int, default=1,
                        help="number of the first roll: a later chunk continues the fault rotation (default 1)")
    parser.add_argument("--faults", default=",".join(KINDS),
                        help=f"fault kinds to rotate through, comma-separated (default {','.join(KINDS)})")
    parser.add_argument("--scope", choices=("stack", "managed"), default="stack",
                        help="what the rolls move: the soak stack's containers, or every managed one")
    parser.add_argument("--images", type=int, default=4, help="sample images pushed before the rolls (default 4)")
    parser.add_argument("--gate-timeout-s", type=float, default=120.0, help="each roll gate's bounded wait")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "soak.json", help="result JSON")
    parser.add_argument("--table", type=Path, default=HERE / "BENCHMARKS.md",
                        help="markdown file whose soak section is (re)generated")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="measure nothing: merge these result files (chunks) and regenerate the outputs")
    args = parser.parse_args(argv)
    args.faults = tuple(kind.strip() for kind in args.faults.split(",") if kind.strip())
    unknown = sorted(set(args.faults) - set(KINDS))
    if unknown or not args.faults:
        parser.error(f"--faults: unknown kind(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(KINDS)}")
    if args.rolls < 1 or args.first_roll < 1 or args.images < 1:
        parser.error("--rolls, --first-roll and --images must be at least 1")
    return args


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as well as SIGINT: the session's clean-up runs either way


def _outputs(document: dict[str, Any], args: argparse.Namespace) -> int:
    """The JSON, the PNG and the markdown section; exit 0 when the target is met."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = args.out.with_suffix(".png")
    write_json(document, args.out)
    soak_plot(document, png)
    old = args.table.read_text() if args.table.exists() else "# Benchmarks\n"
    args.table.write_text(replace_section(old, render_section(document, args.table, args.out, png)))
    log.info(f"wrote {args.out}, {png} and the soak section of {args.table}")
    print(json.dumps(document["summary"], indent=2))
    return 0 if document["summary"]["target_met"] else 1


def main(argv: list[str] | None = None) -> int:
    logs.setup()
    args = parse_args(argv)
    if args.from_json:
        return _outputs(merge([json.loads(path.read_text()) for path in args.from_json]), args)
    config = LabConfig.resolve()
    lab = read_info(config)
    if lab is None:
        print("bench.soak: the lab is not up (no lab.json); start it with `python -m lab up` (make lab-up)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    started = time.time()
    log_dir = STATE_DIR / "soak" / time.strftime("%Y%m%d-%H%M%S")
    settings = SoakSettings(args.rolls, args.first_roll, args.faults, args.scope, args.images, args.gate_timeout_s,
                            log_dir)
    log.info(f"{args.rolls} roll(s) from roll {args.first_roll}, faults {', '.join(args.faults)}; logs in {log_dir}")
    try:
        with lab_session(config.cache_dir, "make soak"):
            session = run_soak(settings)
    except LabError as error:
        print(f"bench.soak: {error}", file=sys.stderr)
        return 2
    session["pulls"] = [[1, p.at_s, p.seconds, p.phase, p.outcome] for p in session["pulls"]]
    session.update(
        schema=1, started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), host={"cpus": os.cpu_count()},
        members=[m["name"] for m in lab["lxd"]["members"]], first_roll=args.first_roll, faults=list(args.faults),
        scope=args.scope,
        command="python -m bench.soak " + shlex.join(argv if argv is not None else sys.argv[1:]),
    )
    return _outputs(merge([session]), args)


if __name__ == "__main__":
    sys.exit(main())
