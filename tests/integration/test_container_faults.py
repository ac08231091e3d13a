"""Faults while containers are created: a bootstrap that fails half-way (the next `pulumi up` converges),
the database leader's daemon killed and restarted during `pulumi up` (that up rides it out), and a package step run
again while its cut-off first run still holds apt's lock. Nothing is duplicated or lost."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cluster import logs
from cluster.facts import read_members
from cluster.operations import execute
from cluster.polling import wait_until
from cluster.steps import wait_for_ipv4
from lab.info import LabInfo
from provisioners.bootstrap import run_plan
from provisioners.bootstrap_plan import Mirror, debian_package_steps
from tests.support.lab_stack import change_counts, lab_stack, set_config, stack_config

pytestmark = pytest.mark.integration


def _named(lab: LabInfo, prefix: str) -> list[str]:
    return sorted(i.name for i in lab.lxd_client().instances.all() if i.name.startswith(prefix))


def test_bootstrap_failing_half_way_names_the_step_then_converges(lab: LabInfo) -> None:
    good_mirror = stack_config("bootfail", {})["lxdha:mirror"]
    broken = {**good_mirror, "url": "http://10.91.0.30:9/debian"}  # nothing listens on port 9
    with lab_stack("bootfail", {"lxdha:containers": {"count": 1, "prefix": "bf"}, "lxdha:mirror": broken}) as cli:
        failed = cli.run("up", "--yes", "--skip-preview", check=False)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0
        assert "bootstrap step 'apt-update' failed in bf-0" in output, output[-3000:]
        set_config(cli, "lxdha:mirror", good_mirror)
        fixed = cli.up_summary()
        assert fixed["result"] == "succeeded", fixed
        assert _named(lab, "bf-") == ["bf-0"]
    assert _named(lab, "bf-") == []


def test_leader_killed_and_restarted_during_up_is_ridden_out_without_duplicates(lab: LabInfo, lab_faults) -> None:
    """The daemon of the cluster's database leader killed while the up creates containers on it, and
    started again once the cluster has noticed: the survivors elect a new leader, and the steps that need
    that member wait for it (bounded) instead of failing the up."""
    leader = next(m.name for m in read_members(lab.lxd_client()) if "database-leader" in m.roles)
    with lab_stack("killup", {"lxdha:containers": {"count": 3, "prefix": "ku"}}) as cli:
        up = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--stack", cli.stack, "--non-interactive"],
                              cwd=cli.workdir, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # kill it while the up is creating containers (one on each member): once the first of them exists
        wait_until(lambda: bool(_named(lab, "ku-")), timeout_s=300, poll_s=0.5, what="the up creating a container")
        lab_faults.kill_member(leader)
        wait_until(lambda: up.poll() is not None or lab_faults.member_status(leader) == "Offline", timeout_s=120,
                   poll_s=1, what=f"the cluster seeing {leader} OFFLINE (or the up ending)")
        lab_faults.restart_member(leader)
        try:
            output, _ = up.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        assert up.returncode == 0, "\n".join(errors[-20:]) + "\n...\n" + output[-1500:]
        again = cli.up_summary()
        assert again["result"] == "succeeded" and change_counts(again) == {}, again
        assert _named(lab, "ku-") == ["ku-0", "ku-1", "ku-2"]
        statuses = {i.name: i.status for i in lab.lxd_client().instances.all() if i.name.startswith("ku-")}
        assert set(statuses.values()) == {"Running"}, statuses
    assert _named(lab, "ku-") == []


# perl, started under the name apt-get, holds apt's lists lock as a cut-off `apt-get update` would
HOLD_APT_LISTS_LOCK = (
    "cp /usr/bin/perl /root/apt-get\n"
    "(/root/apt-get -e '$| = 1; use Fcntl; open(my $f, \">>\", \"/var/lib/apt/lists/lock\") or die;"
    " fcntl($f, F_SETLKW, pack(\"s s x4 q q i x4\", F_WRLCK, SEEK_SET, 0, 0, 0)) or die; print \"held\\n\";"
    " sleep 8' > /root/held 2>&1 &)\n"
    "for _ in $(seq 50); do grep -q held /root/held 2>/dev/null && exit 0; sleep 0.1; done; cat /root/held >&2; exit 1"
)


def test_a_package_step_run_again_waits_for_the_run_its_lost_exec_left_behind(lab: LabInfo, lab_instances) -> None:
    """A member restart cuts the exec of `apt-get update` but not the process: the step, run again,
    finds apt's lock held. `apt-get update` fails on it at once; the step waits for that run instead."""
    client = lab.lxd_client()
    name = lab_instances("apt-lock", lab.member_names[0])
    wait_for_ipv4(client, name)  # booted and on the network, as bootstrap starts (it waits for the address)
    mirror = Mirror(url=lab.data["mirror"]["url"], suite=lab.data["mirror"]["suite"],
                    signing_key=Path(lab.data["mirror"]["key_armored"]).read_text())
    point_at_mirror, update = debian_package_steps(mirror, ("openssh-server",))[:2]
    run_plan(client, name, [point_at_mirror])
    held = execute(client, name, ["sh", "-c", HOLD_APT_LISTS_LOCK], timeout_s=60)
    assert held.exit_code == 0, held.stderr
    reports: list[str] = []
    with logs.also_to(logs.Watcher(reports.append)):
        run_plan(client, name, [update])  # raises BootstrapError if apt found the lock
    output = "\n".join(reports)
    assert "waiting for another package manager run to end" in output and ":apt-get" in output, output
    assert "Could not get lock" not in output, output
