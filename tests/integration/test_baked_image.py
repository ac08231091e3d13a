"""BakedImage on the lab: baked once, each container its own identity, a new package plan bakes again
and re-points the alias while the running containers stay exactly as they are, destroy removes it all."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.facts import read_instance
from cluster.images import read_alias
from cluster.operations import execute
from lab.info import LabInfo
from provisioners.bake import OWNER_PROPERTY
from tests.support.lab_stack import change_counts, lab_stack, set_config, stack_config

pytestmark = pytest.mark.integration
PREFIX = "bk"


def identity(client: Any, name: str) -> tuple[str, str]:
    machine_id = execute(client, name, ["cat", "/etc/machine-id"], timeout_s=60).stdout.strip()
    host_key = execute(client, name, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], timeout_s=60).stdout.split()[1]
    return machine_id, host_key


def uptime_s(client: Any, name: str) -> float:
    return float(execute(client, name, ["cat", "/proc/uptime"], timeout_s=60).stdout.split()[0])


def test_baked_once_own_identity_rebake_repoints_and_running_containers_stay(lab: LabInfo) -> None:
    image = {**stack_config("baked", {})["lxdha:image"], "bake": True}
    alias = f"{image['alias']}-baked"
    settings = {"lxdha:image": image, "lxdha:containers": {"count": 2, "prefix": PREFIX, "group": PREFIX}}
    client = lab.lxd_client()
    with lab_stack("baked", settings) as cli:
        own = f"lxdha/{cli.stack}"  # the owner mark this stack's bakes carry
        assert cli.up_summary()["result"] == "succeeded"
        first = read_alias(client, alias)["target"]
        names = [f"{PREFIX}-0", f"{PREFIX}-1"]
        identities = {name: identity(client, name) for name in names}
        machine_ids = {machine_id for machine_id, _ in identities.values()}
        host_keys = {key for _, key in identities.values()}
        assert len(machine_ids) == 2 and "" not in machine_ids, identities
        assert len(host_keys) == 2, "two containers from one baked image share an SSH host key"

        assert change_counts(cli.up_summary()) == {}, "same inputs: no bake, no change"
        assert read_alias(client, alias)["target"] == first

        before = {name: (read_instance(client, name)["config"]["volatile.uuid"], uptime_s(client, name))
                  for name in names}
        set_config(cli, "lxdha:image", {**image, "bakePackages": ["keepalived"]})
        assert change_counts(cli.up_summary()) == {"update": 1}, "only the bake changes"
        second = read_alias(client, alias)["target"]
        assert second != first, "a new package plan bakes a new image and re-points the alias"
        for name, (uuid, uptime) in before.items():
            record = read_instance(client, name)
            assert record["config"]["volatile.uuid"] == uuid and record["status"] == "Running"
            assert record["config"]["volatile.base_image"] == first
            assert uptime_s(client, name) > uptime, f"{name} was restarted"
        fingerprints = {i["fingerprint"] for i in client.api.images.get(params={"recursion": "1"}).json()["metadata"]}
        assert first in fingerprints, "the image the running containers came from stays while they exist"
    images = client.api.images.get(params={"recursion": "1"}).json()["metadata"]
    assert read_alias(client, alias) is None, "destroy removes the stack's alias"
    # what this stack baked goes with it; a plan another stack (e.g. the demo's lab stack) baked first was
    # reused, and stays: it is that stack's
    left = {i["fingerprint"]: (i.get("properties") or {}).get(OWNER_PROPERTY) for i in images
            if i["fingerprint"] in {first, second}}
    assert all(owner and owner != own for owner in left.values()), f"destroy leaves no bake of its own: {left}"
