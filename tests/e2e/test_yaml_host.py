"""The YAML language host built from pulumi-yaml runs programs with the pinned CLI, offline: one
with outputs only, and one that declares a resource of the toy `lxd` provider."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import require
from tests.e2e.conftest import TOY_PROVIDER
from toolchain.pulumi_cli import PulumiCli

pytestmark = pytest.mark.e2e


@pytest.fixture()
def yaml_host(pulumi_toolchain: Path) -> Path:
    host = pulumi_toolchain / "pulumi-language-yaml"
    require(host.exists(), "pulumi-language-yaml is not built: run `make setup`")
    return host


def _yaml_project(workdir: Path, program: dict) -> Path:
    (workdir / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "toy-yaml", "runtime": "yaml", **program}))
    return workdir


def test_outputs_only_program_up_and_destroy(yaml_host, isolated_env, tmp_path: Path) -> None:
    project = _yaml_project(tmp_path, {"variables": {"greeting": "hello"},
                                       "outputs": {"message": "${greeting} from yaml", "answer": 42}})
    cli = PulumiCli(project, "yaml", env=isolated_env, timeout_s=120)
    cli.ensure_stack()
    assert cli.up_summary()["result"] == "succeeded"
    assert cli.outputs() == {"message": "hello from yaml", "answer": 42}
    cli.destroy()
    assert cli.outputs() == {}


def test_program_declares_a_provider_resource(yaml_host, isolated_env, tmp_path: Path) -> None:
    project = _yaml_project(tmp_path, {
        "plugins": {"providers": [{"name": "lxd", "path": str(TOY_PROVIDER)}]},
        "resources": {"web": {"type": "lxd:Profile", "properties": {"name": "web", "config": {"limits.cpu": "2"}}}},
        "outputs": {"profile": "${web.name}", "description": "${web.description}"},
    })
    cli = PulumiCli(project, "yaml", env=isolated_env, timeout_s=120)
    cli.ensure_stack()
    summary = cli.up_summary()
    assert summary["resourceChanges"] == {"create": 2}, summary
    assert cli.outputs() == {"profile": "web", "description": "read by the toy provider"}
    cli.destroy()
