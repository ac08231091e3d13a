"""BalancedContainer on the lab: even placement, bootstrap, Ansible, in-place role re-apply, destroy."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cluster.operations import execute
from lab.info import LabInfo
from lab.pytest_plugin import record_figure
from provisioners.ansible_apply import AnsibleJob, AnsibleTarget, run_playbook
from tests.support.lab_stack import change_counts, lab_stack, ssh_run
from toolchain.pulumi_cli import ROOT

pytestmark = pytest.mark.integration

COUNT = int(os.environ.get("LXDHA_IT_CONTAINERS", "9"))
PREFIX = "bc"


def _our_locations(lab: LabInfo) -> dict[str, str]:
    client = lab.lxd_client()
    return {instance.name: instance.location for instance in client.instances.all()
            if instance.name.startswith(f"{PREFIX}-")}


def _all_locations(lab: LabInfo) -> Counter:
    return Counter(instance.location for instance in lab.lxd_client().instances.all())


def _host_key_is_pinned(lab: LabInfo, container: dict[str, str], ansible_dir: Path) -> None:
    """Ansible (with its default strategy) logs in only to the host key the bootstrap read, never another."""
    real_key = execute(lab.lxd_client(), container["name"], ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                       timeout_s=30).stdout.strip()
    other_key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    private_key = (ROOT / ".state" / "ssh" / "id_ed25519").read_text()
    job = AnsibleJob(str(ansible_dir), "base.yml", timeout_s=120)
    for host_key, should_pass in ((real_key, True), (other_key, False)):
        target = AnsibleTarget(container["name"], container["ipv4"], host_key, private_key)
        error = run_playbook([target], job)[target.name]
        assert (error is None) == should_pass, (host_key, error)


def test_nine_containers_spread_configured_reapplied_and_destroyed(lab: LabInfo, tmp_path: Path) -> None:
    members = [member["name"] for member in lab.data["lxd"]["members"]]
    assert not _our_locations(lab), "leftover bc-* containers from an earlier run"
    before = _all_locations(lab)
    ansible_dir = tmp_path / "ansible"
    shutil.copytree(Path(__file__).resolve().parents[2] / "ansible", ansible_dir)
    settings = {"lxdha:containers": {"count": COUNT, "prefix": PREFIX, "ansibleDir": str(ansible_dir)}}

    with lab_stack("containers", settings) as cli:
        first = cli.up_summary()
        assert first["result"] == "succeeded", first

        placed = Counter(_our_locations(lab).values())
        record_figure(f"{COUNT} containers in one parallel `pulumi up`: {first.get('durationSeconds')}s, "
                      f"placement {dict(sorted(placed.items()))}")
        totals = _all_locations(lab)
        if max(before[m] for m in members) == min(before[m] for m in members):  # an empty/even start: 3/3/3
            assert max(placed[m] for m in members) - min(placed[m] for m in members) <= 1, placed
        assert max(totals[m] for m in members) - min(totals[m] for m in members) <= 1, totals

        containers = cli.outputs()["containers"]
        assert len(containers) == COUNT
        for container in containers:
            result = ssh_run(container["ipv4"], "cat /etc/motd")
            assert result.returncode == 0, (container, result.stderr)
            assert "managed by lxdha" in result.stdout

        assert change_counts(cli.up_summary()) == {}, "a re-up with no change must change nothing"
        _host_key_is_pinned(lab, containers[0], ansible_dir)

        defaults = ansible_dir / "roles" / "base" / "defaults" / "main.yml"
        defaults.write_text('base_motd: "managed by lxdha, role edited by the test"\n')
        edited = cli.up_summary()
        assert change_counts(edited) == {"update": COUNT}, edited["resourceChanges"]
        assert Counter(_our_locations(lab).values()) == placed, "a role edit must not move or replace containers"
        for container in containers:
            assert "role edited by the test" in ssh_run(container["ipv4"], "cat /etc/motd").stdout

    assert not _our_locations(lab), "destroy left bc-* containers"
