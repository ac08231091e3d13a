"""Operations on the real lab: rebalance, rolling maintenance (member daemons really restart), the
unhealthy-gate stop and its recovery, host requirements. Only containers named `ops-*` are created,
moved or deleted; everything else on the cluster is counted but never touched."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pylxd
import pytest

from cluster import logs
from cluster.connection import lxd_client
from cluster.facts import GROUP_KEY, MANAGED_KEY, ORIGIN_KEY
from cluster.images import copy_image
from cluster.steps import ensure_created, ensure_deleted, ensure_running
from lab.cluster import wait_all_online
from lab.info import LabInfo
from lab.pytest_plugin import record_figure
from ops.health import CheckResult, FunctionCheck
from ops.host_requirements import CommandSysctlReader, SysctlRequirement, check_requirements
from ops.moves import online_names, spread_of, violations
from ops.rebalance import rebalance
from ops.rebalance_plan import plan_rebalance
from ops.rolling import Options, Roll, return_home
from ops.services import Service
from ops.workloads import Scope, read_snapshot
from toolchain.stack_config import endpoint_from_stack, read_stack_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PREFIX = "ops-"
SCOPE = Scope(prefix=PREFIX)
GROUP = "ops-g"
HOST_STEP = "{python} -m lab fault restart-member {member}"
LAB_SYSCTL = "ip netns exec lxdha-{member} sysctl -n {key}"


@pytest.fixture(scope="module")
def client(lab: LabInfo) -> Iterator[pylxd.Client]:
    """Connected exactly as the CLIs are: from the lab stack's config."""
    with lxd_client(endpoint_from_stack(read_stack_config("lab"))) as connected:
        yield connected


def _ours(client: pylxd.Client) -> list[str]:
    return sorted(i["name"] for i in client.api.instances.get(params={"recursion": "1"}).json()["metadata"]
                  if i["name"].startswith(PREFIX))


@pytest.fixture
def ops_containers(lab: LabInfo, client: pylxd.Client) -> Iterator[Callable[[str, str, str | None], str]]:
    """create(suffix, member, group) -> name: a managed, RUNNING container created on `member`; every
    ops-* container is deleted when the test ends, so each test starts from an empty scope, with every member
    Online (an earlier test's restarted or cut member may still be rejoining: plans count only online ones)."""
    wait_all_online(lab.config)
    for leftover in _ours(client):
        ensure_deleted(client, leftover)
    fingerprint = copy_image(lab.lxd_client(), lab.image())["fingerprint"]

    def create(suffix: str, member: str, group: str | None = None) -> str:
        name = f"{PREFIX}{suffix}"
        config = {MANAGED_KEY: "true", **({GROUP_KEY: group} if group else {})}
        ensure_created(client, {"name": name, "type": "container", "profiles": ["default"], "config": config,
                                "source": {"type": "image", "fingerprint": fingerprint}}, member, owner=None)
        ensure_running(client, name)
        return name

    yield create
    for name in _ours(client):
        ensure_deleted(client, name)


def _locations(client: pylxd.Client) -> dict[str, tuple[str, str]]:
    return {w.name: (w.member, "Running" if w.running else "Stopped")
            for w in read_snapshot(client, SCOPE).in_scope()}


def test_rebalance_dry_run_moves_nothing_then_moves_only_what_improves(client: pylxd.Client,
                                                                          ops_containers: Callable) -> None:
    for suffix in ("a", "b", "c"):
        ops_containers(suffix, "m1")
    for suffix in ("r1", "r2"):
        ops_containers(suffix, "m1", GROUP)  # two replicas of one group on one member: anti-affinity broken
    before = _locations(client)

    planned, done = rebalance(client, SCOPE, dry_run=True)
    assert planned and done == []
    assert _locations(client) == before, "a dry run moved something"

    snapshot = read_snapshot(client, SCOPE)
    online = online_names(snapshot.members)
    placement = {w.name: w.member for w in snapshot.workloads}
    spread_before = spread_of(snapshot.workloads, placement, online)
    started = time.monotonic()
    moves, results = rebalance(client, SCOPE, dry_run=False)
    seconds = time.monotonic() - started
    record_figure(f"rebalance: {len(results)} move(s) in {seconds:.1f}s: {[m.describe() for m in moves]}")
    assert all(r.moved and r.move.instance.startswith(PREFIX) for r in results)
    assert len({r.move.instance for r in results}) == len(results)

    after = read_snapshot(client, SCOPE)
    placement = {w.name: w.member for w in after.workloads}
    ours = [w for w in after.workloads if w.movable]
    assert violations(ours, placement, online) == 0, "replicas of ops-g still share a member"
    assert spread_of(after.workloads, placement, online) <= spread_before
    assert all(w.running for w in ours)
    assert plan_rebalance(after.members, after.workloads) == [], "a second rebalance would still move something"


def test_maintenance_rolls_every_member_and_puts_everything_back(client: pylxd.Client,
                                                                 ops_containers: Callable) -> None:
    for suffix, member in (("a", "m1"), ("b", "m2"), ("r1", "m3")):
        ops_containers(suffix, member, GROUP if suffix.startswith("r") else None)
    before = _locations(client)
    lines: list[str] = []
    with logs.also_to(logs.Watcher(lines.append)):
        report = Roll(client, Options(scope=SCOPE, host_step=HOST_STEP, gate_timeout_s=180)).run()
    assert report.ok, report.stopped_at
    assert sorted(report.members_done) == ["m1", "m2", "m3"]
    assert sum(1 for line in lines if "host step exited 0" in line) == 3, "each member's daemon restarted once"
    assert _locations(client) == before, "containers did not end where they belong, RUNNING"
    assert not any(w.origin for w in read_snapshot(client, SCOPE).in_scope()), "an evacuation record was left"
    moved = sum(1 for m in report.moves if m.moved)
    assert moved == 2 * len(before)
    record_figure(f"maintenance: 3 members in {report.seconds:.1f}s "
                  f"({', '.join(f'{m} {s:.1f}s' for m, s in report.member_seconds.items())}), {moved} moves")


def test_maintenance_stops_at_the_first_unhealthy_gate(client: pylxd.Client, ops_containers: Callable) -> None:
    ops_containers("a", "m2")
    before = _locations(client)
    outage = Service("simulated", checks=(FunctionCheck("registry via VIP", lambda: CheckResult(False, "simulated")),))
    report = Roll(client, Options(scope=SCOPE, host_step="false", services=[outage], gate_timeout_s=3)).run()
    assert not report.ok and report.members_done == [] and report.moves == []
    assert "gate before" in report.stopped_at and "registry via VIP: simulated" in report.stopped_at
    assert _locations(client) == before


def test_a_stop_after_evacuation_leaves_records_and_return_home_recovers(client: pylxd.Client,
                                                                        ops_containers: Callable) -> None:
    member = "m2"
    ops_containers("a", member)
    before = _locations(client)
    calls = []

    def healthy_once() -> bool:
        calls.append(1)
        return len(calls) == 1  # passes the gate before, fails once the member is evacuated

    flaky = Service("flaky", checks=(FunctionCheck("service", healthy_once),))
    report = Roll(client, Options(scope=SCOPE, members=[member], host_step="false", services=[flaky],
                                  gate_timeout_s=3)).run()
    assert not report.ok and "gate evacuated" in report.stopped_at
    away = [w for w in read_snapshot(client, SCOPE).in_scope() if w.origin]
    assert away and all(w.origin == member and w.member != member for w in away)
    returned = return_home(client, SCOPE)
    assert {r.move.instance for r in returned} == {w.name for w in away}
    assert _locations(client) == before
    config = client.api.instances[away[0].name].get().json()["metadata"]["config"]
    assert ORIGIN_KEY not in config


def test_host_requirements_name_host_and_parameter(lab: LabInfo) -> None:
    reader = CommandSysctlReader(LAB_SYSCTL)
    members = {m["name"]: m["address"] for m in lab.data["lxd"]["members"]}
    current = reader.read("m1", members["m1"], "net.ipv4.ip_nonlocal_bind")
    assert current in ("0", "1")
    wrong = "0" if current == "1" else "1"
    report = check_requirements([SysctlRequirement("net.ipv4.ip_nonlocal_bind", wrong, "keepalived")], members, reader)
    assert not report.ok and len(report.wrong) == len(members)
    assert any(line.startswith(f"m1: net.ipv4.ip_nonlocal_bind is {current}, keepalived needs {wrong}")
               for line in report.lines())
    held = check_requirements([SysctlRequirement("net.ipv4.ip_nonlocal_bind", current, "keepalived")],
                              {"m1": members["m1"]}, reader)
    assert held.ok and held.checked == 1
    unreadable = check_requirements([SysctlRequirement("net.ipv4.no_such_key", "1", "x")], {"m2": members["m2"]},
                                    reader)
    assert unreadable.lines() == ["m2: cannot read net.ipv4.no_such_key; x needs 1"]

    cli = subprocess.run([sys.executable, "-m", "ops.host_check", "--stack", "lab", "--sysctl-reader", LAB_SYSCTL,
                          "--require", f"net.ipv4.ip_nonlocal_bind={wrong}"], cwd=REPO, capture_output=True,
                         text=True, timeout=120, check=False)
    assert cli.returncode == 1, cli.stderr
    assert f"m3: net.ipv4.ip_nonlocal_bind is {current}" in cli.stdout


def test_cli_dry_runs_change_nothing(client: pylxd.Client, ops_containers: Callable) -> None:
    ops_containers("a", "m1")
    before = _locations(client)
    for module, extra in (("ops.rebalance", []), ("ops.maintenance", ["--host-step", HOST_STEP])):
        result = subprocess.run([sys.executable, "-m", module, "--stack", "lab", "--dry-run", "--prefix", PREFIX,
                                 *extra], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "nothing was changed" in result.stdout
    assert _locations(client) == before


def test_hosts_playbook_sets_what_the_check_wants(lab: LabInfo, tmp_path: Path) -> None:
    """ansible/hosts.yml run inside member m1's network namespace (the lab's stand-in for the host),
    with its file under tmp so the machine's own /etc/sysctl.d is untouched; the value is put back."""
    key, member = "net.ipv4.ip_nonlocal_bind", "m1"
    address = next(m["address"] for m in lab.data["lxd"]["members"] if m["name"] == member)
    reader = CommandSysctlReader(LAB_SYSCTL)
    original = reader.read(member, address, key)
    wanted = [SysctlRequirement(key, "1", "keepalived")]
    netns = ["ip", "netns", "exec", f"lxdha-{member}"]
    env = {"ANSIBLE_ROLES_PATH": str(REPO / "ansible/roles"), "ANSIBLE_LOCAL_TEMP": str(tmp_path),
           "ANSIBLE_HOME": str(tmp_path), "PATH": f"{REPO / '.venv/bin'}:/usr/sbin:/usr/bin:/sbin:/bin"}
    try:
        result = subprocess.run([*netns, "env", *(f"{k}={v}" for k, v in env.items()), "ansible-playbook", "-c",
                                 "local", "-i", "localhost,", "-e", f"lxdha_sysctl_file={tmp_path / 'lxdha.conf'}",
                                 "-e", "ansible_python_interpreter=" + sys.executable, str(REPO / "ansible/hosts.yml")],
                                capture_output=True, text=True, timeout=180, check=False)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert check_requirements(wanted, {member: address}, reader).ok
    finally:
        subprocess.run([*netns, "sysctl", "-q", "-w", f"{key}={original}"], timeout=30, check=True)
    assert reader.read(member, address, key) == original
