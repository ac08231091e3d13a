"""The native provider on the lab, through the real CLI: drift seen by refresh (a move, a stop, a
deletion: exactly those), `up` converging without moving anything back, property-level preview
diffs, `pulumi import` of a hand-made container and profile, and a cluster certificate rotation
after which refresh and up work once the stack config names the new fingerprint."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cluster.facts import read_instance
from cluster.images import copy_image
from cluster.steps import ensure_deleted, ensure_launched, ensure_moved, ensure_stopped
from lab import faults
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, PulumiCli, PulumiError

pytestmark = pytest.mark.integration
PROJECT = ROOT / "tests" / "integration" / "lxd_project"


def connection_config(lab: LabInfo) -> dict[str, str]:
    return {"lxd:remote": lab.lb_url, "lxd:serverFingerprint": lab.data["lxd"]["server_fingerprint"],
            "lxd:clientCertFile": str(lab.client_cert), "lxd:clientKeyFile": str(lab.client_key)}


@pytest.fixture(scope="module")
def image(lab: LabInfo) -> str:
    return copy_image(lab.lxd_client(), lab.image())["fingerprint"]


@contextlib.contextmanager
def provider_stack(lab: LabInfo, name: str, config: dict[str, Any]) -> Iterator[PulumiCli]:
    stack = f"pv-{name}"
    stack_file = PROJECT / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {**connection_config(lab), **config}}))
    cli = PulumiCli(PROJECT, stack)
    cli.ensure_stack()
    try:
        yield cli
    finally:
        try:
            cli.run("config", "set", "lxd:serverFingerprint", lab.data["lxd"]["server_fingerprint"])
            cli.destroy()
        finally:
            cli.run("stack", "rm", "--yes", "--force", check=False)
            stack_file.unlink(missing_ok=True)


def set_object(cli: PulumiCli, key: str, value: Any) -> None:
    stack_file = PROJECT / f"Pulumi.{cli.stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"][key] = value
    stack_file.write_text(yaml.safe_dump(document))


def summary_of(cli: PulumiCli, command: str) -> dict[str, Any]:
    stdout = cli.run(command, "--yes", "--skip-preview", "--json").stdout
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    found = [e["summaryEvent"] for e in events if "summaryEvent" in e]
    assert found, stdout[-2000:]
    return {op: n for op, n in found[-1]["resourceChanges"].items() if op != "same" and n}


def state_of(cli: PulumiCli) -> dict[str, dict[str, Any]]:
    deployment = json.loads(cli.exported_state())["deployment"]
    return {r["urn"].split("::")[-1]: r.get("outputs") or {} for r in deployment.get("resources", [])
            if r["type"] == "lxd:index/instance:Instance"}


def test_refresh_shows_exactly_the_drift_and_up_converges_without_moving_back(lab: LabInfo, image: str) -> None:
    declared = {"pv-a": {"target": "m1"}, "pv-b": {"target": "m2"}, "pv-c": {"target": "m3"}}
    with provider_stack(lab, "drift", {"lxdha-provider-it:image": image,
                                       "lxdha-provider-it:instances": declared}) as cli:
        assert summary_of(cli, "up") == {"create": 4}  # 3 instances and the provider
        client = lab.lxd_client()
        ensure_moved(client, "pv-a", "m2")
        ensure_stopped(client, "pv-b")
        ensure_deleted(client, "pv-c")
        assert summary_of(cli, "refresh") == {"update": 2, "delete": 1}
        state = state_of(cli)
        assert state["pv-a"]["location"] == "m2" and state["pv-a"]["target"] == "m1"
        assert state["pv-b"]["running"] is False and "pv-c" not in state

        assert summary_of(cli, "up") == {"update": 1, "create": 1}  # pv-b started, pv-c made again
        where = {n: (read_instance(client, n) or {}).get("location") for n in declared}
        status = {n: (read_instance(client, n) or {}).get("status") for n in declared}
        assert where == {"pv-a": "m2", "pv-b": "m2", "pv-c": "m3"}, "the move must not be undone"
        assert set(status.values()) == {"Running"}
        assert summary_of(cli, "up") == {}


def test_preview_diff_names_the_property_that_changes(lab: LabInfo, image: str) -> None:
    with provider_stack(lab, "diff", {"lxdha-provider-it:image": image,
                                      "lxdha-provider-it:instances": {"pv-d": {"target": "m2"}}}) as cli:
        cli.run("up", "--yes", "--skip-preview")
        set_object(cli, "lxdha-provider-it:instances", {"pv-d": {"target": "m2", "config": {"user.role": "web"}}})
        text = cli.run("preview", "--diff").stdout
        assert "~ lxd:index/instance:Instance" in text and "user.role" in text, text[-2000:]
        steps = cli.preview_json()["steps"]
        changed = next(s for s in steps if s.get("op") == "update")
        assert set(changed["detailedDiff"]) == {"config"} or set(changed.get("diffs", [])) == {"config"}
        assert changed.get("replaces") in (None, []), "a config change updates in place"
        cli.run("up", "--yes", "--skip-preview")
        assert all(s.get("op") == "same" for s in cli.preview_json()["steps"])


def test_import_of_a_hand_made_container_and_profile(lab: LabInfo, image: str) -> None:
    client = lab.lxd_client()
    ensure_launched(client, "pv-imported", image, "m3")
    client.api.profiles.post(json={"name": "pv-imported", "config": {"limits.cpu": "1"}, "description": "by hand"})
    try:
        with provider_stack(lab, "import", {"lxdha-provider-it:image": image}) as cli:
            out = PROJECT / f"imported-{cli.stack}.py"
            try:
                cli.run("import", "lxd:index/instance:Instance", "imported", "default/pv-imported", "--yes",
                        "--protect=false", "--out", str(out))
                code = out.read_text()
                assert 'lxd.Instance("imported"' in code and 'target="m3"' in code, code
                cli.run("import", "lxd:index/profile:Profile", "imported-profile", "pv-imported", "--yes",
                        "--protect=false", "--out", str(out))
                code = out.read_text()
                assert 'lxd.Profile("imported-profile"' in code and '"limits.cpu": "1"' in code, code
            finally:
                out.unlink(missing_ok=True)
            assert summary_of(cli, "refresh") == {}, "an import must read back exactly what it recorded"
        assert read_instance(client, "pv-imported") is None, "destroy removes what was imported"
    finally:
        ensure_deleted(client, "pv-imported")
        with contextlib.suppress(Exception):
            client.api.profiles["pv-imported"].delete()


def test_after_a_certificate_rotation_refresh_and_up_work_once_the_config_names_it(lab: LabInfo, image: str) -> None:
    with provider_stack(lab, "rotate", {"lxdha-provider-it:image": image,
                                        "lxdha-provider-it:instances": {"pv-r": {"target": "m1"}}}) as cli:
        cli.run("up", "--yes", "--skip-preview")
        new = faults.rotate_cluster_certificate(lab.config)
        with pytest.raises(PulumiError) as stale:
            cli.run("refresh", "--yes", "--skip-preview")
        message = stale.value.result.stdout + stale.value.result.stderr
        assert "lxd:serverFingerprint" in message and "Traceback" not in message, message[-2000:]
        cli.run("config", "set", "lxd:serverFingerprint", new)
        assert summary_of(cli, "refresh") == {}
        assert summary_of(cli, "up") == {}
