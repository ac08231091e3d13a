"""`python -m bench.postgres` (`make bench` runs it after the container benchmark): on the running lab, a
PostgreSQL cluster from an empty cluster to serving on a baked image, pgbench through the write VIP vs
directly, failover with the default and the fast Patroni timing, the write gap of a roll's switchover;
writes bench/results/postgres.json and the PostgreSQL section of bench/BENCHMARKS.md. Exit 0 when every
target holds."""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path

from bench.postgres import report
from cluster import logs

HERE = Path(__file__).resolve().parent.parent


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too: the stacks are destroyed on the way out


def main(argv: list[str] | None = None) -> int:
    logs.setup()
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results", help=f"{report.RESULT_FILE} goes here")
    parser.add_argument("--table", type=Path, default=HERE / "BENCHMARKS.md", help="the section is written here")
    parser.add_argument("--from-json", action="store_true",
                        help=f"measure nothing: re-render from {report.RESULT_FILE}")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    if args.from_json:
        return _write(json.loads((args.out / report.RESULT_FILE).read_text()), args.table)
    from bench.postgres import scenario  # noqa: PLC0415 - the lab's modules only when measuring
    from lab.config import LabConfig  # noqa: PLC0415
    from lab.info import LabInfo  # noqa: PLC0415
    from lab.lease import lab_session  # noqa: PLC0415

    config = LabConfig.resolve()
    with lab_session(config.cache_dir, "python -m bench.postgres"):
        document = scenario.run(LabInfo(config))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / report.RESULT_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return _write(document, args.table)


def _write(document: dict, table_path: Path) -> int:
    table = table_path.read_text() if table_path.exists() else "# Benchmarks\n"
    table_path.write_text(report.MARKERS.replace(table, report.section(document)))
    for name, check in report.checks(document).items():
        print(f"{name}: {check['value']} ({check['met']})")
    return 0 if report.passed(document) else 1


if __name__ == "__main__":
    raise SystemExit(main())
