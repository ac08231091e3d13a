"""`pulumi preview` of the real lab stack (what a pull request runs): it plans without errors and
proposes the image, the registry replicas and their configuration."""

from __future__ import annotations

import json

import pytest

from harness.lab_secrets import ensure_all
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, PulumiCli

pytestmark = pytest.mark.integration


def test_lab_stack_previews_cleanly(lab: LabInfo) -> None:
    ensure_all()
    cli = PulumiCli(ROOT, "lab")
    cli.ensure_stack()
    result = cli.run("preview", "--json", check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    planned = {step["urn"].split("::")[-1] for step in json.loads(result.stdout).get("steps", [])}
    existing = json.loads(cli.exported_state()).get("deployment", {}).get("resources") or []
    planned |= {resource["urn"].split("::")[-1] for resource in existing}  # unchanged ones are not listed
    assert {"base-image-image", "registry-0-instance", "registry-1-configure"} <= planned, planned
