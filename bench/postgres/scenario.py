"""The PostgreSQL cluster's figures, measured in one run on the running lab (see bench/postgres/__main__.py).

Each disturbance runs under the commit loop (harness/commit_loop.py); its figure is the longest time
between two acknowledged commits from the disturbance on, and every acknowledged commit must be in the
table afterwards. pgbench runs from a replica's container against the write VIP and directly against the
primary, alternating, so both paths see the same client, TLS, synchronous standby and host load.
"""

from __future__ import annotations

import datetime
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg

from bench import cluster
from bench.bake import bake_overrides, baked
from bench.lab_access import BenchSite
from bench.lxc import Lxc
from cluster.operations import execute, push_file
from cluster.polling import wait_until
from cluster.steps import ensure_running, ensure_stopped
from config.postgres import postgres_packages
from harness.commit_loop import CommitLoop, create_table, numbers_in_table
from harness.lab_secrets import POSTGRES_TLS_CERT, ensure_all, postgres_password
from harness.lab_stacks import config_value, empty_backup_path, lab_stack, postgres_overrides, set_config
from harness.postgres_client import Database
from lab.info import LabInfo
from ops.postgres_service import PostgresOperations, postgres_operations
from provisioners.patroni import PatroniError
from toolchain.pulumi_cli import PulumiCli, change_counts
from toolchain.stack_config import read_stack_config

NAME, VIP, VRID, BACKUP_PATH = "bnpg", "10.91.0.248", 68, "/bench-postgres"
STACK = "postgres"  # bench-postgres
POSTGRES_KEY = "lxdha:postgres"
FAST_TIMING = {"ttlS": 20, "loopWaitS": 1, "retryTimeoutS": 3}  # Patroni 4's floors
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
PGBENCH_SCALE, PGBENCH_CLIENTS, PGBENCH_SECONDS, PGBENCH_ROUNDS = 10, 4, 20, 3
COMMIT_INTERVAL_S = 0.05
WAIT_S = 300  # bounds each wait; the figures are what the loops measured, not these


def run(lab: LabInfo) -> dict[str, Any]:
    ensure_all()
    document: dict[str, Any] = {"started": _now(), "status": "failed", "lost_commits": 0, "loops": {}}
    lxc = Lxc.for_lab(BenchSite.load().data)
    try:
        with baked(lxc, cluster.online_members(lxc), name=f"{STACK}-bake", packages=postgres_packages()) as made:
            document["bake"] = {"seconds": made.seconds, "reused": made.reused}
            empty_backup_path(lab, BACKUP_PATH)
            overrides = {**bake_overrides(f"bench-{STACK}"),
                         **postgres_overrides(lab.data, name=NAME, vip=VIP, vrid=VRID, backup_path=BACKUP_PATH)}
            with lab_stack(STACK, overrides, prefix="bench") as cli:
                _measure(lab, cli, document)
    except Exception as error:  # noqa: BLE001 - recorded in the document: the section shows what failed
        document["status"] = f"failed: {type(error).__name__}: {' '.join(str(error).split())[:400]}"
    finally:
        lxc.remove()
        empty_backup_path(lab, BACKUP_PATH)
        document["finished"] = _now()
    return document


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _measure(lab: LabInfo, cli: PulumiCli, document: dict[str, Any]) -> None:
    database = Database(VIP, 5432, "app", postgres_password("app"), "app", POSTGRES_TLS_CERT)
    started = time.monotonic()
    summary = cli.up_summary()
    if summary.get("result") != "succeeded":
        raise RuntimeError(f"pulumi up {summary.get('result')}")
    document["up_s"] = round(time.monotonic() - started, 1)
    wait_until(lambda: _commit_one(database), timeout_s=WAIT_S, poll_s=0.2, what="a commit through the VIP",
               not_yet=(psycopg.OperationalError,))
    document["serving_s"] = round(time.monotonic() - started, 1)
    operations = _operations(cli)
    _wait_whole(operations)
    document["pgbench"] = _pgbench(lab, cli, operations)
    default = operations.settings.timing
    document["default_timing"] = {"ttlS": default.ttl_s, "loopWaitS": default.loop_wait_s,
                                  "retryTimeoutS": default.retry_timeout_s}
    document["failover_default_s"] = _failover(lab, cli, database, operations, document, "failover, default timing")
    timing = config_value(cli, POSTGRES_KEY)
    set_config(cli, POSTGRES_KEY, {**timing, "patroni": FAST_TIMING})
    tuned = cli.up_summary()
    if tuned.get("result") != "succeeded":
        raise RuntimeError(f"pulumi up with the fast timing: {tuned.get('result')}")
    document["fast_timing"] = FAST_TIMING
    operations = _operations(cli)
    _wait_whole(operations)
    document["failover_fast_s"] = _failover(lab, cli, database, operations, document, "failover, fast timing")
    document["switchover_s"] = _switchover(cli, database, operations, document)
    document["second_up_changes"] = change_counts(cli.up_summary())
    document["status"] = "measured"


def _operations(cli: PulumiCli) -> PostgresOperations:
    found = postgres_operations(read_stack_config(cli.stack))
    if found is None:
        raise RuntimeError(f"stack {cli.stack} has no {POSTGRES_KEY}")
    return found[0]


def _wait_whole(operations: PostgresOperations) -> None:
    wait_until(lambda: operations.whole().ok, timeout_s=WAIT_S, poll_s=1, what="the cluster whole")


def _commit_one(database: Database) -> bool:
    with database.connect() as connection:
        create_table(connection)
    return True


def _primary(cli: PulumiCli, operations: PostgresOperations) -> dict[str, str]:
    leader = operations.patroni().cluster().leader
    if leader is None:
        raise RuntimeError("no primary")
    return next(m for m in cli.outputs()["postgres"]["members"] if m["name"] == leader.name)


def _under_loop(database: Database, operations: PostgresOperations, document: dict[str, Any], label: str,
                disturb: Callable[[CommitLoop], None]) -> float:
    """Runs `disturb` under the commit loop; its figure: the longest gap between acknowledgements after it
    began. Every acknowledged commit must be in the table."""
    with CommitLoop(database.connect, interval_s=COMMIT_INTERVAL_S, max_s=1800, join_s=15) as loop:
        wait_until(lambda: len(loop.acked()) >= 20, timeout_s=WAIT_S, poll_s=0.1, what="20 commits first")
        began = loop.elapsed()
        disturb(loop)
        _wait_whole(operations)
        acked = len(loop.acked())
        wait_until(lambda: len(loop.acked()) >= acked + 20, timeout_s=WAIT_S, poll_s=0.1, what="20 commits after")
    with database.connect() as connection:
        lost = loop.lost(numbers_in_table(connection, loop.run))
    document["lost_commits"] += len(lost)
    document["loops"][label] = {**loop.summary(), "lost": len(lost)}
    return loop.longest_outage_s(after_s=began)


def _failover(lab: LabInfo, cli: PulumiCli, database: Database, operations: PostgresOperations,
              document: dict[str, Any], label: str) -> float:
    primary = _primary(cli, operations)["name"]
    client = lab.lxd_client()

    def stop_primary(_loop: CommitLoop) -> None:
        ensure_stopped(client, primary, force=True)
        wait_until(lambda: (leader := operations.patroni().cluster().leader) is not None
                   and leader.name != primary and leader.state == "running", timeout_s=WAIT_S, poll_s=0.2,
                   what="a new primary", not_yet=(PatroniError,))
        ensure_running(client, primary)

    return _under_loop(database, operations, document, label, stop_primary)


def _switchover(cli: PulumiCli, database: Database, operations: PostgresOperations,
                document: dict[str, Any]) -> float:
    """A maintenance roll of the primary's member only: one switchover, then the member's host step."""
    member = _primary(cli, operations)["member"]

    def roll(_loop: CommitLoop) -> None:
        done = subprocess.run([sys.executable, "-m", "ops.maintenance", "--stack", cli.stack, "--prefix", f"{NAME}-",
                               "--members", member, "--host-step", "{python} -m lab fault restart-member {member}"],
                              cwd=cli.workdir, env=cli.env, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"maintenance of {member}: {done.stderr.strip()[-400:]}")

    return _under_loop(database, operations, document, "switchover in a roll", roll)


TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)
WARM_UP_S = 10
PACED_SHARE = 0.5  # the paced runs ask for half the direct TPS: the latency the VIP adds, without CPU starvation


def _pgbench(lab: LabInfo, cli: PulumiCli, operations: PostgresOperations) -> dict[str, Any]:
    """TPS through the VIP and directly to the primary, from a replica's container, alternating after a
    warm-up; then both paths paced at half the direct TPS, for the latency the VIP adds per transaction."""
    client = lab.lxd_client()
    primary = _primary(cli, operations)
    runner = next(m["name"] for m in cli.outputs()["postgres"]["members"] if m["name"] != primary["name"])
    password = postgres_password("app")
    targets = {"vip": VIP, "direct": primary["ipv4"]}
    pgpass = "".join(f"{host}:5432:app:app:{password}\n" for host in targets.values())
    push_file(client, runner, "/root/.pgpass", pgpass.encode(), mode="0600")  # never on a command line
    environment = {"PGSSLMODE": "require", "PGUSER": "app", "PGDATABASE": "app", "PGPORT": "5432"}

    def pgbench(host: str, *options: str) -> tuple[float, float]:
        result = execute(client, runner, [PGBENCH, "-h", host, "-n", "-c", str(PGBENCH_CLIENTS), "-j", "2", *options],
                         timeout_s=PGBENCH_SECONDS + 120, environment=environment)
        tps, latency = TPS.search(result.stdout), LATENCY.search(result.stdout)
        if result.exit_code != 0 or not tps or not latency:
            raise RuntimeError(f"pgbench -h {host}: {(result.stderr or result.stdout).strip()[-300:]}")
        return float(tps.group(1)), float(latency.group(1))

    try:
        init = execute(client, runner, [PGBENCH, "-h", VIP, "-i", "-q", "-s", str(PGBENCH_SCALE)], timeout_s=600,
                       environment=environment)
        if init.exit_code != 0:
            raise RuntimeError(f"pgbench -i: {init.stderr.strip()[-300:]}")
        pgbench(VIP, "-T", str(WARM_UP_S))
        tps: dict[str, list[float]] = {"vip": [], "direct": []}
        for _ in range(PGBENCH_ROUNDS):
            for path, host in targets.items():
                tps[path].append(pgbench(host, "-T", str(PGBENCH_SECONDS))[0])
        rate = max(1, int(PACED_SHARE * statistics.median(tps["direct"])))
        paced = {path: pgbench(host, "-T", str(PGBENCH_SECONDS), "-R", str(rate))[1] for path, host in targets.items()}
    finally:
        execute(client, runner, ["rm", "-f", "/root/.pgpass"], timeout_s=30)
    vip, direct = statistics.median(tps["vip"]), statistics.median(tps["direct"])
    return {"tps": tps, "vip_tps": round(vip, 1), "direct_tps": round(direct, 1),
            "overhead_pct": round(100 * (1 - vip / direct), 1), "paced_tps": rate,
            "paced_latency_ms": paced, "added_latency_ms": round(paced["vip"] - paced["direct"], 2),
            "client": runner, "scale": PGBENCH_SCALE, "clients": PGBENCH_CLIENTS, "seconds": PGBENCH_SECONDS,
            "rounds": PGBENCH_ROUNDS}
