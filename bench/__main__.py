"""`make bench` / `python -m bench`: baselines A, A-parallel (Ap) and B vs `pulumi up`, on the running lab.

Writes results.json + PNG plots to --out and the BENCHMARKS.md table to --table. Speed goals are
checked only here, on ratios measured in the same run, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import plots, registry_hook, report, servers_report
from bench.merge import merge
from bench.runner import APPROACHES, Settings, run_matrix
from bench.summary import summarize
from cluster import logs
from lab.config import LabConfig
from lab.lease import lab_session
from lab.proc import LabError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="3,12,30", help="container counts, comma-separated (default 3,12,30)")
    parser.add_argument("--runs", type=int, default=5, help="runs per size and approach (default 5)")
    parser.add_argument("--runs-at", default="", metavar="N=R,...",
                        help="fewer (or more) runs for some sizes, e.g. 30=1 when time is short")
    parser.add_argument("--approaches", default=",".join(APPROACHES), help="subset of A,Ap,B,ours (Ap = A-parallel)")
    parser.add_argument("--floor-workers", type=int, default=8,
                        help="containers in flight for baseline B (default 8 = `pulumi up`'s default --parallel)")
    parser.add_argument("--seed-workers", type=int, default=10,
                        help="containers in flight for A-parallel (default 10 = Terraform's default -parallelism)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results.json + PNGs go here")
    parser.add_argument("--table", type=Path, default=HERE / "BENCHMARKS.md", help="generated markdown table")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="measure nothing: re-render from results.json file(s); several are merged")
    parser.add_argument("--keep-logs", action="store_true", help="keep per-container logs of the baselines")
    parser.add_argument("--no-registry", action="store_true",
                        help="skip the HA registry measurement (up time, VIP failover gap)")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    try:
        args.runs_at = {int(n): int(r) for n, r in (item.split("=") for item in args.runs_at.split(",") if item)}
    except ValueError:
        parser.error("--runs-at takes N=R pairs, e.g. 30=1")
    args.approaches = tuple(a.strip() for a in args.approaches.split(",") if a.strip())
    if not args.sizes or min(args.sizes) < 1 or args.runs < 1 or set(args.approaches) - set(APPROACHES):
        parser.error("sizes and runs must be >= 1; approaches a subset of A,Ap,B,ours")
    return args


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (and SIGINT, even when a shell started us ignoring it)


def main(argv: list[str] | None = None) -> int:
    logs.setup()
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        document = merge([json.loads(path.read_text()) for path in args.from_json])
        document["summary"] = summarize(document["results"], document["sizes"], document.get("registry"))
        return _write(document, args)
    try:
        with lab_session(LabConfig.resolve().cache_dir, "make bench"):
            document = _measure(args)
    except LabError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    return _write(document, args)


def _measure(args: argparse.Namespace) -> dict:
    """The matrix and the registry figures, as the results document."""
    scratch = Path(tempfile.mkdtemp(prefix="lxdha-bench-"))
    started, lab = time.time(), LabConfig.resolve()
    try:
        measured = run_matrix(Settings(args.sizes, args.runs, args.approaches, args.floor_workers, scratch,
                                        args.runs_at, args.seed_workers))
    finally:
        if args.keep_logs:
            log.info(f"baseline logs kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    document = {
        "schema": 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "storage": lab.storage_driver, "server": lab.backend},
        "sizes": args.sizes, "runs": args.runs, "runs_at": {str(n): r for n, r in args.runs_at.items()},
        "approaches": list(args.approaches),
        "floor_workers": args.floor_workers,
        "seed_workers": args.seed_workers,
        **measured,
        "registry": registry_hook.skipped() if args.no_registry else registry_hook.measure(),
    }
    document["summary"] = summarize(document["results"], args.sizes, document["registry"])
    return document


def _write(document: dict, args: argparse.Namespace) -> int:
    """results.json (atomically), the two PNGs and the table; exit 1 if any run failed. A run on another
    server than LXD writes <server>.json and only its section of the table (bench/servers_report.py)."""
    server = document.get("host", {}).get("server", "lxd")
    results = args.out / ("results.json" if server == "lxd" else servers_report.result_file(server))
    tmp = results.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.replace(results)
    if server != "lxd":
        servers_report.write(args.table, args.out)
        log.info(f"wrote {results} and its section of {args.table}")
    else:
        plots.time_vs_n(document, args.out / "time_vs_n.png")
        plots.spread_histogram(document, args.out / "spread_hist.png")
        report.write(document, args.table, args.out)
        log.info(f"wrote {results}, {args.out / 'time_vs_n.png'}, {args.out / 'spread_hist.png'}, {args.table}")
    print(json.dumps(document["summary"]["targets"], indent=2))
    failed = [r for r in document["results"] if "error" in r]
    return 1 if failed or document["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
