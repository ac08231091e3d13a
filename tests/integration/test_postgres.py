"""PostgresCluster on the lab with real clients: psycopg through the HAProxy VIP on the host, psql in the
containers. Under a loop that records each row only once its COMMIT is acknowledged, each fault runs once:
the primary's container hard-stopped, the primary member's LXD daemon SIGKILLed, the primary's member cut
off the segment (the old primary must acknowledge nothing), the HAProxy MASTER hard-stopped, a
maintenance roll of every member. After each: every acknowledged row is on every member (0 lost) and the
next `pulumi up` changes nothing. On stacks of their own: a restore to a point in time, and its refusal
for a time before the first backup.

The module's stack is deployed once; before each test every container runs and the cluster is whole
(Patroni: a running primary, a synchronous standby, every member caught up), so any one test runs alone.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psycopg
import pytest

from cluster.operations import execute
from cluster.polling import WaitTimeout, wait_until
from cluster.steps import ensure_running, ensure_stopped
from harness.commit_loop import TABLE, CommitLoop, create_table, numbers_in_table
from harness.lab_secrets import POSTGRES_TLS_CERT, ensure_all, postgres_password
from harness.lab_stacks import empty_backup_path, postgres_overrides
from harness.postgres_client import Database
from lab.info import LabInfo
from lab.pytest_plugin import record_figure
from ops.postgres_service import PostgresOperations, postgres_operations
from ops.services import VRRP_STATE_FILE
from tests.support.lab_stack import change_counts, lab_stack
from toolchain.pulumi_cli import STATE_DIR, PulumiCli
from toolchain.stack_config import read_stack_config

pytestmark = pytest.mark.integration

NAME = "itpg"
VIP, VRID = "10.91.0.244", 64
BACKUP_PATH = "/it-postgres"
RESTORED_NAME, RESTORED_VIP, RESTORED_VRID = "itpgr", "10.91.0.250", 70
WHOLE_TIMEOUT_S = 300  # a member rejoining after a rewind or a roll; bounds the test only
WHOLE_AFTER_A_TIMEOUT_S = 30
_GAVE_UP: list[str] = []  # the waits for a whole cluster that timed out in this module
WRITES_BACK_S = 120  # bounds the wait for writes after a fault, not a target (bench/ measures)
COMMIT_INTERVAL_S = 0.1


@pytest.fixture(scope="module")
def stack(lab: LabInfo) -> Iterator[PulumiCli]:
    ensure_all()
    overrides = postgres_overrides(lab.data, name=NAME, vip=VIP, vrid=VRID, backup_path=BACKUP_PATH)
    empty_backup_path(lab, BACKUP_PATH)  # an earlier run's cluster: a new one refuses its repository
    with lab_stack("postgres", overrides) as cli:
        summary = cli.up_summary()
        assert summary["result"] == "succeeded", summary
        yield cli
    empty_backup_path(lab, BACKUP_PATH)


@pytest.fixture(scope="module")
def operations(stack: PulumiCli) -> PostgresOperations:
    found = postgres_operations(read_stack_config(stack.stack))
    assert found is not None
    return found[0]


@pytest.fixture(scope="module")
def database(stack: PulumiCli) -> Database:
    app = Database(VIP, 5432, "app", postgres_password("app"), "app", POSTGRES_TLS_CERT)
    with app.connect() as connection:
        create_table(connection)
    return app


@pytest.fixture(autouse=True)
def cluster_whole(request: pytest.FixtureRequest, lab: LabInfo) -> None:
    """Each test starts with every container running and the cluster whole (an earlier test may have
    stopped one, or failed half-way)."""
    if "stack" not in request.fixturenames:
        return
    stack = request.getfixturevalue("stack")
    client = lab.lxd_client()
    for container in _containers(stack):
        ensure_running(client, container["name"])
    _wait_whole(request.getfixturevalue("operations"), lab=lab,
                members=[m["name"] for m in stack.outputs()["postgres"]["members"]])


def _containers(stack: PulumiCli) -> list[dict[str, str]]:
    outputs = stack.outputs()["postgres"]
    return [*outputs["members"], *outputs["haproxy"]]


def _wait_whole(operations: PostgresOperations, timeout_s: float = WHOLE_TIMEOUT_S,
                lab: LabInfo | None = None, members: Iterable[str] = ()) -> None:
    """Until Patroni reports the cluster whole; on timeout, what it reported last and the members' logs.
    Once a wait in this module timed out, the later ones wait only briefly: the module's one cluster stays
    broken, and each following test would otherwise spend the whole bound on finding that out again."""
    if _GAVE_UP:
        timeout_s = min(timeout_s, WHOLE_AFTER_A_TIMEOUT_S)
    seen: list[str] = []

    def whole() -> bool:
        result = operations.whole()
        seen.append(result.detail)
        return result.ok

    try:
        wait_until(whole, timeout_s=timeout_s, poll_s=1, what="the cluster whole again")
    except WaitTimeout as error:
        _GAVE_UP.append(str(error))
        diagnosis = _diagnose(lab, operations, members) if lab is not None else ""
        raise AssertionError(f"{error}; last seen: {seen[-1] if seen else '-'}\n{diagnosis}") from error


def _primary(stack: PulumiCli, operations: PostgresOperations) -> tuple[str, str]:
    """(container, LXD member) of the primary Patroni reports."""
    leader = operations.patroni().cluster().leader
    assert leader is not None
    member = next(m["member"] for m in stack.outputs()["postgres"]["members"] if m["name"] == leader.name)
    return leader.name, member


def _new_primary_other_than(operations: PostgresOperations, old: str) -> str | None:
    try:
        leader = operations.patroni().cluster().leader
    except Exception:  # noqa: BLE001 - a member that does not answer now may answer on the next poll
        return None
    return leader.name if leader is not None and leader.name != old and leader.running else None


def _every_member_has(lab: LabInfo, stack: PulumiCli, database: Database, operations: PostgresOperations,
                      loop: CommitLoop) -> None:
    """Every acknowledged row on every member (the primary directly, the replicas once they replayed it)."""
    members = stack.outputs()["postgres"]["members"]

    def missing() -> dict[str, list[int]]:
        gaps = {}
        for member in members:
            with database.at(member["ipv4"]).connect(verify_host=False) as connection:
                lost = loop.lost(numbers_in_table(connection, loop.run))
            if lost:
                gaps[member["name"]] = lost[:10]
        return gaps

    seen: list[dict[str, list[int]]] = []
    try:  # a member may still restart after rejoining: its refusal means "not yet", a missing row too
        wait_until(lambda: not seen.append(missing()) and not seen[-1], timeout_s=120, poll_s=1,
                   what="every acknowledged row on every member", not_yet=(psycopg.OperationalError,))
    except WaitTimeout as error:
        gaps = seen[-1] if seen else {}
        raise AssertionError(f"acknowledged rows missing: {gaps or error}\n{_diagnose(lab, operations, gaps)}") \
            from error


def _diagnose(lab: LabInfo, operations: PostgresOperations, containers: Iterable[str]) -> str:
    """Patroni's view and the named members' last Patroni log lines, for a failure message; their whole
    Patroni and etcd journals of the last 20 minutes go to a file under .state/ (read once per member),
    where a failover's sequence can be read afterwards."""
    try:
        lines = [f"patroni: {operations.patroni().cluster()}"]
    except Exception as error:  # noqa: BLE001 - a diagnosis reports what it cannot read too
        lines = [f"patroni: unreadable ({error})"]
    directory = STATE_DIR / "diagnosis"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"postgres-{int(time.time())}.log"
    with path.open("w") as out:
        for name in containers:
            try:
                journal = execute(lab.lxd_client(), name, ["journalctl", "-u", "patroni", "-u", "etcd", "--since",
                                                           "-20min", "--no-pager"], timeout_s=60).stdout
            except Exception as error:  # noqa: BLE001
                journal = f"unreadable ({error})"
            out.write(f"===== {name}\n{journal}\n")
            patroni_lines = [line for line in journal.splitlines() if " patroni[" in line] or [journal]
            lines.append(f"--- {name}\n" + "\n".join(patroni_lines[-40:])[-4000:])
    return "\n".join(lines) + f"\nwhole journals: {path}"


def _through_fault(lab: LabInfo, stack: PulumiCli, database: Database, operations: PostgresOperations, label: str,
                   fault: Callable[[CommitLoop], None]) -> CommitLoop:
    """Runs `fault` under the commit loop; then the cluster must be whole, writes acknowledged again, no
    acknowledged row missing anywhere, and the next up must change nothing."""
    with CommitLoop(database.connect, interval_s=COMMIT_INTERVAL_S, max_s=1500, join_s=15) as loop:
        wait_until(lambda: len(loop.acked()) >= 5, timeout_s=60, poll_s=0.2, what="5 acknowledged commits first")
        fault_at = loop.elapsed()
        fault(loop)
        _wait_whole(operations, lab=lab, members=[m["name"] for m in stack.outputs()["postgres"]["members"]])
        acked = len(loop.acked())
        wait_until(lambda: len(loop.acked()) >= acked + 5, timeout_s=WRITES_BACK_S, poll_s=0.2,
                   what="5 acknowledged commits after the fault")
    summary = loop.summary()
    outage = loop.longest_outage_s(after_s=fault_at)
    _every_member_has(lab, stack, database, operations, loop)
    record_figure(f"postgres, {label}: {summary['acked']} commits acknowledged, 0 lost, "
                  f"{summary['not_acked']} not acknowledged; writes back after {outage:.1f}s (longest gap)")
    assert change_counts(stack.up_summary()) == {}, f"after {label} the next up changes nothing"
    return loop


def test_writes_reach_the_primary_reads_a_replica_and_backups_reach_s3(lab: LabInfo, stack: PulumiCli,
                                                                       database: Database,
                                                                       operations: PostgresOperations) -> None:
    with database.connect() as writer, database.at(VIP, 5433).connect() as reader:
        assert writer.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        assert reader.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        assert writer.execute("SHOW ssl").fetchone() == ("on",)
    view = operations.patroni().cluster()
    assert view.leader is not None and len(view.sync_standbys) == 1, view
    outputs = stack.outputs()["postgres"]["members"]
    assert len({m["member"] for m in outputs}) == 3, f"one database member per LXD member: {outputs}"
    assert sorted(m["role"] for m in outputs) == ["leader", "replica", "sync_standby"], outputs
    primary, _ = _primary(stack, operations)
    info = execute(lab.lxd_client(), primary, ["pgbackrest", f"--stanza={NAME}", "info", "--output=json"],
                   timeout_s=60)
    assert info.exit_code == 0, info.stderr
    assert '"type":"full"' in info.stdout.replace(" ", ""), "a full backup after create"


def test_reup_changes_nothing(stack: PulumiCli) -> None:
    assert change_counts(stack.up_summary()) == {}


def test_primary_container_hard_stopped(lab: LabInfo, stack: PulumiCli, database: Database,
                                        operations: PostgresOperations) -> None:
    primary, _ = _primary(stack, operations)

    def fault(_loop: CommitLoop) -> None:
        ensure_stopped(lab.lxd_client(), primary, force=True)
        wait_until(lambda: _new_primary_other_than(operations, primary), timeout_s=WRITES_BACK_S, poll_s=0.5,
                   what=f"a new primary after {primary} stopped")
        ensure_running(lab.lxd_client(), primary)

    _through_fault(lab, stack, database, operations, f"primary {primary} hard-stopped", fault)


def test_primary_member_daemon_killed(lab: LabInfo, stack: PulumiCli, database: Database,
                                      operations: PostgresOperations, lab_faults) -> None:
    """The daemon is the control plane: the containers run on, the writes go on."""
    primary, member = _primary(stack, operations)

    def fault(loop: CommitLoop) -> None:
        lab_faults.kill_member(member)
        acked = len(loop.acked())
        wait_until(lambda: len(loop.acked()) >= acked + 20, timeout_s=WRITES_BACK_S, poll_s=0.2,
                   what=f"20 commits while the daemon of {member} is down")
        lab_faults.restart_member(member)

    _through_fault(lab, stack, database, operations, f"LXD daemon of {member} (primary {primary}) SIGKILLed", fault)


def _local_sql(lab_faults, container: str, sql: str, timeout_s: int = 8) -> int:
    """psql as the postgres superuser inside `container` (entered without LXD: a cut-off member's daemon
    refuses); the client gives up after `timeout_s` without cancelling (a cancelled wait for the standby
    would report the commit as done). Its exit code: 0 only when the statement succeeded."""
    command = ["timeout", "-s", "KILL", str(timeout_s), "runuser", "-u", "postgres", "--", "psql", "-X", "-q",
               "-v", "ON_ERROR_STOP=1", "-d", "app", "-c", sql]
    return lab_faults.run_in_container(container, command, timeout_s + 30).returncode


def _is_primary_locally(lab_faults, container: str) -> bool:
    command = ["runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-c", "SELECT pg_is_in_recovery()"]
    result = lab_faults.run_in_container(container, command, 30)
    return result.returncode == 0 and result.stdout.strip() == "f"


def test_primary_member_cut_off_then_healed(lab: LabInfo, stack: PulumiCli, database: Database,
                                            operations: PostgresOperations, lab_faults) -> None:
    """Never two writers: the cut-off old primary acknowledges no write (its synchronous standby is out of
    reach) and steps down; what it wrote locally is rewound when it rejoins."""
    primary, member = _primary(stack, operations)
    marker = f"cut-{int(time.time())}"
    refused: list[int] = []

    def fault(_loop: CommitLoop) -> None:
        lab_faults.cut_member(member)
        refused.append(_local_sql(lab_faults, primary,
                                  f"INSERT INTO {TABLE} (run, number) VALUES ('{marker}', 1)"))
        wait_until(lambda: _new_primary_other_than(operations, primary), timeout_s=WRITES_BACK_S, poll_s=0.5,
                   what=f"a new primary after {member} was cut off")
        wait_until(lambda: not _is_primary_locally(lab_faults, primary), timeout_s=60, poll_s=1,
                   what=f"the cut-off {primary} stepping down")
        refused.append(_local_sql(lab_faults, primary,
                                  f"INSERT INTO {TABLE} (run, number) VALUES ('{marker}', 2)"))
        lab_faults.heal_member(member)

    _through_fault(lab, stack, database, operations, f"member {member} of primary {primary} cut off, then healed",
                   fault)
    assert all(code != 0 for code in refused), f"the cut-off old primary acknowledged a write: {refused}"
    with database.connect() as connection:
        assert numbers_in_table(connection, marker) == set(), "a write only the old primary took survived"


def _vip_holder(lab: LabInfo, stack: PulumiCli) -> str:
    def holders() -> list[str]:
        found = []
        for replica in stack.outputs()["postgres"]["haproxy"]:
            state = execute(lab.lxd_client(), replica["name"], ["cat", VRRP_STATE_FILE], timeout_s=20)
            if state.stdout.strip() == "MASTER":
                found.append(replica["name"])
        return found

    return wait_until(lambda: (found := holders()) and len(found) == 1 and found[0], timeout_s=30, poll_s=0.5,
                      what="exactly one HAProxy MASTER")


def test_haproxy_master_hard_stopped(lab: LabInfo, stack: PulumiCli, database: Database,
                                     operations: PostgresOperations) -> None:
    master = _vip_holder(lab, stack)

    def fault(loop: CommitLoop) -> None:
        ensure_stopped(lab.lxd_client(), master, force=True)
        acked = len(loop.acked())
        wait_until(lambda: len(loop.acked()) >= acked + 5, timeout_s=WRITES_BACK_S, poll_s=0.2,
                   what="commits through the backup HAProxy")
        ensure_running(lab.lxd_client(), master)

    _through_fault(lab, stack, database, operations, f"HAProxy MASTER {master} hard-stopped", fault)


def test_haproxy_reload_keeps_established_sessions(lab: LabInfo, stack: PulumiCli, database: Database) -> None:
    """A config change reloads HAProxy (master-worker, the role's handler): the MASTER's old worker keeps
    serving a session opened through the VIP before the reload, while new sessions reach the new one."""
    master = _vip_holder(lab, stack)
    with database.connect() as held:
        session = held.execute("SELECT pg_backend_pid()").fetchone()
        reload = execute(lab.lxd_client(), master, ["systemctl", "reload", "haproxy"], timeout_s=60)
        assert reload.exit_code == 0, reload.stderr

        def haproxy_processes() -> int:
            found = execute(lab.lxd_client(), master, ["sh", "-c", "grep -lx haproxy /proc/[0-9]*/comm | wc -l"],
                            timeout_s=30)
            return int(found.stdout.strip() or 0)

        wait_until(lambda: haproxy_processes() >= 3, timeout_s=30, poll_s=0.5,
                   what="the master, its new worker and the old one still serving the session")
        with database.connect() as fresh:
            assert fresh.execute("SELECT 1").fetchone() == (1,)
        assert held.execute("SELECT pg_backend_pid()").fetchone() == session, "the same session after the reload"


def test_maintenance_roll_of_every_member(lab: LabInfo, stack: PulumiCli, database: Database,
                                          operations: PostgresOperations) -> None:
    rolled: list[subprocess.CompletedProcess] = []

    def fault(_loop: CommitLoop) -> None:
        rolled.append(subprocess.run(
            [sys.executable, "-m", "ops.maintenance", "--stack", stack.stack, "--prefix", f"{NAME}-",
             "--host-step", "{python} -m lab fault restart-member {member}"],
            cwd=stack.workdir, env=stack.env, capture_output=True, text=True, timeout=2400, check=False))

    _through_fault(lab, stack, database, operations, "maintenance roll of every member", fault)
    print(rolled[0].stdout[-2000:])
    assert rolled[0].returncode == 0, rolled[0].stdout[-3000:] + rolled[0].stderr[-2000:]
    assert "switched over" in rolled[0].stdout + rolled[0].stderr, "the primary was moved before its member went"


def _database_time(database: Database) -> datetime.datetime:
    with database.connect() as connection:
        return connection.execute("SELECT clock_timestamp()").fetchone()[0]


def test_restore_to_a_point_in_time(lab: LabInfo, stack: PulumiCli, database: Database,
                                    operations: PostgresOperations) -> None:
    """Rows committed before the target time are in the restored cluster, rows after it are not; a time
    before the first backup is refused at preview naming restore.time."""
    run = f"pitr-{int(time.time())}"
    insert = f"INSERT INTO {TABLE} (run, number) SELECT %s, n FROM generate_series(%s::int, %s::int) AS n"
    with database.connect() as connection:
        connection.execute(insert, (run, 1, 100))
    # whole seconds: the target is written to the second, and rows 1-100 committed before it
    target = (_database_time(database) + datetime.timedelta(seconds=1)).replace(microsecond=0)
    wait_until(lambda: _database_time(database) > target + datetime.timedelta(seconds=1), timeout_s=10, poll_s=0.2,
               what="the clock past the target")
    with database.connect() as connection:
        connection.execute(insert, (run, 101, 200))
    primary, _ = _primary(stack, operations)
    # the WAL holding rows 101-200 archived: recovery needs a commit after the target to stop at
    checked = execute(lab.lxd_client(), primary, ["runuser", "-u", "postgres", "--", "pgbackrest", f"--stanza={NAME}",
                                                  "check"], timeout_s=180)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    restored = postgres_overrides(lab.data, name=RESTORED_NAME, vip=RESTORED_VIP, vrid=RESTORED_VRID,
                                  backup_path=f"/{RESTORED_NAME}")
    empty_backup_path(lab, f"/{RESTORED_NAME}")
    try:
        _restore_and_check(stack, run, target, restored)
    finally:
        empty_backup_path(lab, f"/{RESTORED_NAME}")


def _restore_and_check(stack: PulumiCli, run: str, target: datetime.datetime, restored: dict) -> None:
    with lab_stack("postgres-restored", restored) as cli:
        refused = _restore(cli, stack, "2000-01-01 00:00:00+00")
        assert refused.returncode != 0 and "lxdha:postgres.restore.time" in refused.stdout + refused.stderr, \
            refused.stdout[-2000:] + refused.stderr[-2000:]
        done = _restore(cli, stack, target.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S+00"), "--yes")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        copy = Database(RESTORED_VIP, 5432, "app", postgres_password("app"), "app", POSTGRES_TLS_CERT)
        with copy.connect() as connection:
            assert numbers_in_table(connection, run) == set(range(1, 101))
            assert connection.execute("SELECT pg_is_in_recovery()").fetchone() == (False,), "it takes writes"


def _restore(cli: PulumiCli, source: PulumiCli, moment: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.restore", "--stack", cli.stack, "--from-stack", source.stack,
                           "--time", moment, *extra], cwd=cli.workdir, env=cli.env, capture_output=True, text=True,
                          timeout=1800, check=False)


def test_no_secret_in_plaintext_in_state_stack_files_or_logs(stack: PulumiCli) -> None:
    state = stack.exported_state()
    stack_file = Path(stack.workdir, f"Pulumi.{stack.stack}.yaml").read_text()
    for name in ("superuser", "replication", "rewind", "rest-api", "app"):
        password = postgres_password(name)
        assert password not in state, f"the {name} password is in the state in plaintext"
        assert password not in stack_file
        for log in Path(stack.workdir, ".state", "logs").glob("*.log"):
            assert password not in log.read_text(errors="replace"), f"the {name} password is in {log}"
