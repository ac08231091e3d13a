"""What `make dist` builds, used as a user outside this repository would: in a temporary directory, a
fresh venv gets the pulumi_lxd wheel from pip, the CLI installs the plugin archive with `pulumi plugin
install --file`, and a small Python program declares a Profile and an Instance on the lab; up, refresh
(after the instance was stopped by hand) and destroy run with the project's CLI. Neither the repository
nor its venv is on PATH or PYTHONPATH (tests/support/dist.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cluster.facts import read_instance
from cluster.images import copy_image
from cluster.steps import ensure_stopped
from lab.info import LabInfo
from lxd_provider.schema import VERSION
from tests.support.dist import SYSTEM_PATH, build_dist, outside_env, pinned
from toolchain.pulumi_cli import ROOT, PulumiCli, change_counts

pytestmark = pytest.mark.integration
PROJECT = "lxd-outside"
STACK = "dist"
PREFIX = "it-dist"
PROGRAM = '''\
import pulumi
import pulumi_lxd as lxd

config = pulumi.Config()
prefix = config.require("prefix")
small = lxd.Profile("small", name=f"{prefix}-small", description="one CPU, 256 MiB",
                    config={"limits.cpu": "1", "limits.memory": "256MiB"})
web = lxd.Instance("web", name=f"{prefix}-web", image=config.require("image"), target=config.require("target"),
                   profiles=["default", small.name], config={"user.role": "web"})
pulumi.export("member", web.location)
pulumi.export("address", web.ipv4_address)
'''


def _fresh_venv(where: Path, sdk_wheel: Path) -> Path:
    """A venv of the system's Python with the SDK wheel and the pulumi SDK the CLI pairs with, from pip."""
    python = shutil.which("python3", path=":".join(SYSTEM_PATH))
    assert python, "no python3 on the system PATH"
    subprocess.run([python, "-m", "venv", str(where)], check=True, timeout=300)
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", str(sdk_wheel),
                    f"pulumi=={pinned('pulumi')}"], check=True, timeout=900)
    return where


def _project(workdir: Path, venv: Path, lab: LabInfo, image: str) -> Path:
    workdir.mkdir()
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(venv)}}
    (workdir / "Pulumi.yaml").write_text(yaml.safe_dump({"name": PROJECT, "runtime": runtime}))
    (workdir / "__main__.py").write_text(PROGRAM)
    (workdir / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": {
        "lxd:remote": lab.lb_url, "lxd:serverFingerprint": lab.data["lxd"]["server_fingerprint"],
        "lxd:clientCertFile": str(lab.client_cert), "lxd:clientKeyFile": str(lab.client_key),
        f"{PROJECT}:image": image, f"{PROJECT}:target": "m2", f"{PROJECT}:prefix": PREFIX}}))
    return workdir


def test_the_dist_artefacts_deploy_a_profile_and_an_instance_from_outside_the_repository(
        lab: LabInfo, tmp_path: Path) -> None:
    assert ROOT not in tmp_path.parents
    dist = build_dist(tmp_path / "dist")
    venv = _fresh_venv(tmp_path / "venv", dist.sdk_wheel)
    client = lab.lxd_client()
    image = copy_image(client, lab.image())["fingerprint"]
    cli = PulumiCli(_project(tmp_path / "project", venv, lab, image), STACK, env=outside_env(tmp_path, venv / "bin"))
    cli.run("plugin", "install", "resource", "lxd", VERSION, "--file", str(dist.archive))
    cli.ensure_stack()
    try:
        assert change_counts(cli.summary("up")) == {"create": 3}  # the stack, the profile and the instance
        outputs = json.loads(cli.run("stack", "output", "--json").stdout)
        assert outputs["member"] == "m2" and outputs["address"]
        instance = read_instance(client, f"{PREFIX}-web")
        assert instance["profiles"] == ["default", f"{PREFIX}-small"] and instance["config"]["user.role"] == "web"

        ensure_stopped(client, f"{PREFIX}-web")
        assert change_counts(cli.summary("refresh")) == {"update": 1}
        state = json.loads(cli.exported_state())["deployment"]["resources"]
        (web,) = [r for r in state if r["type"] == "lxd:index/instance:Instance"]
        assert web["outputs"]["running"] is False

        assert change_counts(cli.summary("destroy")) == {"delete": 3}
        assert read_instance(client, f"{PREFIX}-web") is None
        assert f"{PREFIX}-small" not in {profile.name for profile in client.profiles.all()}
        plugin_dir = tmp_path / "pulumi-home" / "plugins" / f"resource-lxd-v{VERSION}"
        assert (plugin_dir / "pulumi-resource-lxd").is_file()  # the engine ran the installed copy
    finally:
        cli.run("destroy", "--yes", "--skip-preview", check=False)
        cli.run("stack", "rm", "--yes", "--force", check=False)
