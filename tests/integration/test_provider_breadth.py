"""The resources and functions the provider gained for upstream's users, on the lab through the real CLI
(tests/integration/provider_breadth): a Project with an instance in it (its `files` and `waitFors`), an
InstanceFile, a Snapshot, a Volume and its VolumeCopy, a NetworkAcl, and getInstance/getInfo/getProject.
Each object is checked in LXD itself; a second preview changes nothing; new file content is written again
without touching the rest; destroy leaves none of them."""

from __future__ import annotations

from typing import Any

import pylxd
import pytest
from pylxd.exceptions import NotFound

from cluster.images import copy_image
from cluster.operations import get_or_none
from cluster.server_family import server_family
from harness.lab_stacks import set_config, throwaway_stack
from lab.info import LabInfo
from tests.integration.test_lxd_provider import connection_config, summary_of
from toolchain.pulumi_cli import ROOT

pytestmark = pytest.mark.integration
PROJECT_DIR = ROOT / "tests" / "integration" / "provider_breadth"
PREFIX, MEMBER = "itbr", "m2"
LXD_PROJECT = f"{PREFIX}-project"


def _file(client: pylxd.Client, path: str) -> tuple[str, str] | None:
    """(content, mode) of `path` in the test's instance, read from LXD."""
    try:
        response = client.api.instances[f"{PREFIX}-web"].files.get(params={"path": path, "project": LXD_PROJECT},
                                                                  is_api=False)
    except NotFound:
        return None
    return response.text, response.headers.get(server_family(client).header("mode"), "")


def _objects(client: pylxd.Client) -> dict[str, Any]:
    """What LXD holds of each declared object (None: absent)."""
    in_project = {"project": LXD_PROJECT}
    volumes = client.api.storage_pools["default"].volumes.custom
    return {
        "project": get_or_none(client.api.projects[LXD_PROJECT]),
        "instance": get_or_none(client.api.instances[f"{PREFIX}-web"], params=in_project),
        "snapshot": get_or_none(client.api.instances[f"{PREFIX}-web"].snapshots["before"], params=in_project),
        "volume": get_or_none(volumes[f"{PREFIX}-data"], params={"target": MEMBER}),
        "copy": get_or_none(volumes[f"{PREFIX}-data-copy"], params={"target": MEMBER}),
        "acl": get_or_none(client.api["network-acls"][f"{PREFIX}-acl"]),
    }


def test_project_files_snapshot_volume_copy_acl_and_lookups_on_the_lab(lab: LabInfo) -> None:
    client = lab.lxd_client()
    image = copy_image(client, lab.image())["fingerprint"]
    config = {**connection_config(lab), **{f"lxdha-provider-breadth:{key}": value for key, value in {
        "image": image, "prefix": PREFIX, "member": MEMBER, "content": "first\n"}.items()}}
    with throwaway_stack(PROJECT_DIR, "it-breadth", config) as cli:
        assert summary_of(cli, "up") == {"create": 8}  # the stack and its seven objects
        live = _objects(client)
        assert all(live.values()), f"missing in LXD: {[name for name, value in live.items() if not value]}"
        assert live["instance"]["location"] == MEMBER and live["instance"]["status"] == "Running"
        assert live["project"]["config"]["features.images"] == "false"
        assert {rule["destination_port"] for rule in live["acl"]["egress"]} == {"9000"}
        assert _file(client, "/etc/lxdha/motd") == ("first\n", "0644")
        assert _file(client, "/root/note.txt") == ("first\n", "0600")
        outputs = cli.outputs()
        assert outputs["found"] == {"location": MEMBER, "status": "Running"}
        assert outputs["members"] == lab.member_names and outputs["project"] == "lxdha provider breadth test"
        assert outputs["copy"] == MEMBER and outputs["snapshot"]
        assert any(ip["address"].startswith("10.91.0.") for nic in outputs["interfaces"].values()
                   for ip in nic["ips"])
        assert all(step.get("op") == "same" for step in cli.preview_json()["steps"])

        set_config(cli, "lxdha-provider-breadth:content", "second\n")
        assert summary_of(cli, "up") == {"update": 2}  # the instance's files and the file; nothing replaced
        assert _file(client, "/etc/lxdha/motd") == ("second\n", "0644")
        assert _file(client, "/root/note.txt") == ("second\n", "0600")
        assert _objects(client)["snapshot"]["created_at"] == live["snapshot"]["created_at"]
    assert not any(_objects(client).values())
