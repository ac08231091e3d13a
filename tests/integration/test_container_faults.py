"""Faults while containers are created: a bootstrap that fails half-way (the next `pulumi up` converges),
and a member daemon killed and restarted during `pulumi up` (that up rides it out). Nothing is
duplicated or lost."""

from __future__ import annotations

import subprocess

import pytest

from lab.info import LabInfo
from lab.proc import wait_until
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


def test_member_killed_and_restarted_during_up_is_ridden_out_without_duplicates(lab: LabInfo, lab_faults) -> None:
    """A member's daemon killed while the up creates containers on it, and started again once the cluster
    has noticed: the steps that need that member wait for it (bounded) instead of failing the up."""
    with lab_stack("killup", {"lxdha:containers": {"count": 3, "prefix": "ku"}}) as cli:
        up = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--stack", cli.stack, "--non-interactive"],
                              cwd=cli.workdir, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # kill m2 while the up is creating containers: once the first of them exists in the cluster
        wait_until(lambda: bool(_named(lab, "ku-")), timeout=300, interval=0.5, what="the up to create a container")
        lab_faults.kill_member("m2")
        wait_until(lambda: up.poll() is not None or lab_faults.member_status("m2") == "Offline", timeout=120,
                   interval=1, what="the cluster to see m2 OFFLINE (or the up to end)")
        lab_faults.restart_member("m2")
        try:
            output, _ = up.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
        assert up.returncode == 0, output[-3000:]
        again = cli.up_summary()
        assert again["result"] == "succeeded" and change_counts(again) == {}, again
        assert _named(lab, "ku-") == ["ku-0", "ku-1", "ku-2"]
        statuses = {i.name: i.status for i in lab.lxd_client().instances.all() if i.name.startswith("ku-")}
        assert set(statuses.values()) == {"Running"}, statuses
    assert _named(lab, "ku-") == []
