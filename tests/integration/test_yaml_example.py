"""examples/yaml: a Pulumi YAML program declares a profile and an instance with our provider; its
preview, up and destroy run on the lab through the real CLI and the YAML language host."""

from __future__ import annotations

import json

import pytest
import yaml

from cluster.facts import read_instance
from cluster.images import copy_image
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, PulumiCli

pytestmark = pytest.mark.integration
EXAMPLE = ROOT / "examples" / "yaml"
STACK = "it-yaml"


def test_yaml_program_previews_creates_and_destroys(lab: LabInfo) -> None:
    client = lab.lxd_client()
    image = copy_image(client, lab.image())["fingerprint"]
    stack_file = EXAMPLE / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {
        "lxd:remote": lab.lb_url, "lxd:serverFingerprint": lab.data["lxd"]["server_fingerprint"],
        "lxd:clientCertFile": str(lab.client_cert), "lxd:clientKeyFile": str(lab.client_key),
        "lxdha-yaml-example:image": image, "lxdha-yaml-example:target": "m2",
        "lxdha-yaml-example:prefix": "it-yaml"}}))
    cli = PulumiCli(EXAMPLE, STACK)
    cli.ensure_stack()
    try:
        preview = cli.preview_json()
        assert {s["newState"]["type"] for s in preview["steps"] if s.get("op") == "create"} >= \
            {"lxd:index/profile:Profile", "lxd:index/instance:Instance"}
        cli.run("up", "--yes", "--skip-preview")
        outputs = json.loads(cli.run("stack", "output", "--json").stdout)
        assert outputs["member"] == "m2" and outputs["address"].startswith("10.91.0.")
        instance = read_instance(client, "it-yaml-web")
        assert instance["profiles"] == ["default", "it-yaml-small"]
        assert instance["config"]["user.role"] == "web"
        assert all(s.get("op") == "same" for s in cli.preview_json()["steps"])
        cli.destroy()
        assert read_instance(client, "it-yaml-web") is None
        assert "it-yaml-small" not in {p.name for p in client.profiles.all()}
    finally:
        cli.run("destroy", "--yes", "--skip-preview", check=False)
        cli.run("stack", "rm", "--yes", "--force", check=False)
        stack_file.unlink(missing_ok=True)
