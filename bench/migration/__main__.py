"""`python -m bench.migration` (`make migration-demo`): on the running lab, a 2-replica HA registry stack made
by the pre-native-provider code is migrated with `python -m ops.migrate` under a pull loop; writes
bench/results/migration.json and the migration section of bench/BENCHMARKS.md. Exit 0 when every check holds.

Both checkouts share one temporary LXDHA_STATE_DIR (backend, passphrase, keys), removed at the end with the
old checkout. toolchain.pulumi_cli reads LXDHA_STATE_DIR once, when it is imported, so this entry point sets it
before it imports the scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bench.migration import report
from cluster import logs

HERE = Path(__file__).resolve().parent.parent


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too: the scenario's clean-up runs


def main(argv: list[str] | None = None) -> int:
    logs.setup()
    parser = argparse.ArgumentParser(prog="python -m bench.migration", description=__doc__)
    parser.add_argument("--old-commit", default=None, help="the pre-native-provider commit (default ceb7797)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help=f"{report.RESULT_FILE} goes here")
    parser.add_argument("--table", type=Path, default=HERE / "BENCHMARKS.md", help="the section is written here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="lxdha-migration-"))
    os.environ["LXDHA_STATE_DIR"] = str(work / "state")
    try:
        from bench.migration import scenario  # noqa: PLC0415 - after LXDHA_STATE_DIR is set (see above)
        from lab.config import LabConfig  # noqa: PLC0415
        from lab.info import LabInfo  # noqa: PLC0415
        from lab.lease import lab_session  # noqa: PLC0415

        config = LabConfig.resolve()
        with lab_session(config.cache_dir, "make migration-demo"):
            document = scenario.run(work, LabInfo(config), args.old_commit)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / report.RESULT_FILE).write_text(json.dumps(document, indent=2) + "\n")
    table = args.table.read_text() if args.table.exists() else "# Benchmarks\n"
    args.table.write_text(report.upsert(table, report.section(document)))
    for name, check in report.checks(document).items():
        print(f"{name}: {check['value']} ({'met' if check['met'] else 'NOT met'})")
    return 0 if report.passed(document) else 1


if __name__ == "__main__":
    sys.exit(main())
