"""Foundation smoke test: the real CLI, our language host, the dynamic-provider plugin, our own LXD
provider plugin and an LXD daemon working together through preview, up, a no-op re-up, and destroy."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.certs import self_signed_client_cert
from toolchain.pulumi_cli import ROOT, PulumiCli

SMOKE_PROJECT = ROOT / "tests" / "e2e" / "smoke"
pytestmark = pytest.mark.e2e


def _profile_names(daemon) -> set[str]:
    listed = subprocess.run(["lxc", "profile", "list", "--format", "json"], env={"LXD_DIR": str(daemon.lxd_dir),
                            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}, capture_output=True, text=True, check=True)
    return {profile["name"] for profile in json.loads(listed.stdout)}


def test_preview_up_noop_destroy(pulumi_toolchain, standalone_daemon, tmp_path: Path) -> None:
    cert_pem, key_pem = self_signed_client_cert("lxdha-smoke")
    (tmp_path / "client.crt").write_text(cert_pem)
    (tmp_path / "client.key").write_text(key_pem)
    stack = f"smoke-{uuid.uuid4().hex[:8]}"
    profile_name = f"lxdha-smoke-{uuid.uuid4().hex[:6]}"
    cli = PulumiCli(SMOKE_PROJECT, stack)
    assert cli.run("version").stdout.strip() == "v" + _pinned_sdk_version()
    cli.ensure_stack()
    try:
        for key, value in {
            "lxd:remote": standalone_daemon.url,
            "lxd:serverFingerprint": standalone_daemon.fingerprint,
            "lxd:clientCertFile": str(tmp_path / "client.crt"),
            "lxd:clientKeyFile": str(tmp_path / "client.key"),
            "profileName": profile_name,
        }.items():
            cli.run("config", "set", key, value)
        cli.run("config", "set", "--secret", "lxd:trustPassword", standalone_daemon.trust_password)

        preview = cli.preview_json()
        assert preview["changeSummary"] == {"create": 3}
        assert {step["newState"]["type"] for step in preview["steps"]} >= {"pulumi-python:dynamic:Resource",
                                                                           "lxd:index/profile:Profile"}

        summary = cli.up_summary()
        assert summary["result"] == "succeeded", summary
        assert summary["resourceChanges"] == {"create": 3}
        assert cli.outputs() == {"profile_name": profile_name, "stamp_length": 5}
        assert profile_name in _profile_names(standalone_daemon)

        noop = cli.preview_json("--expect-no-changes")
        assert noop["changeSummary"] == {"same": 3}

        state = cli.exported_state()
        stack_file = (SMOKE_PROJECT / f"Pulumi.{stack}.yaml").read_text()
        for secret in (standalone_daemon.trust_password, key_pem.splitlines()[1]):
            assert secret not in state and secret not in stack_file

        cli.destroy()
        assert profile_name not in _profile_names(standalone_daemon)
    finally:
        cli.run("stack", "rm", "--yes", "--force", check=False)
        (SMOKE_PROJECT / f"Pulumi.{stack}.yaml").unlink(missing_ok=True)


def _pinned_sdk_version() -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("pulumi=="):
            return line.split("==", 1)[1]
    raise AssertionError("requirements.txt pins no pulumi version")
