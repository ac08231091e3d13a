"""Address claims through the real CLI, the dynamic-provider plugin and an LXD daemon: the provider is
configured from the stack's lxd:* settings (project-relative file paths included), the first stack
wins, a second one is refused at preview naming the holder, a VIP change moves the claim, a claim
removed out of band is forgotten by refresh and made again by up, and destroy releases only its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from provisioners.address_claims import vip_claim_name
from tests.support.certs import self_signed_client_cert
from toolchain.pulumi_cli import ROOT, PulumiCli

CLAIMS_PROJECT = ROOT / "tests" / "e2e" / "claims"
pytestmark = pytest.mark.e2e


def _lxc(daemon, *args: str) -> str:  # noqa: ANN001 - StandaloneLxd
    return subprocess.run(["lxc", *args], env={"LXD_DIR": str(daemon.lxd_dir), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
                          capture_output=True, text=True, check=True, timeout=60).stdout


def _claims(daemon) -> dict[str, str]:  # noqa: ANN001
    """Claim profile -> owner, as the daemon shows them."""
    profiles = json.loads(_lxc(daemon, "profile", "list", "--format", "json"))
    return {p["name"]: p["config"].get("user.lxdha.stack", "") for p in profiles
            if p["name"].startswith("lxdha-claim-")}


@contextmanager
def _stack(daemon, pki: str, vip: str, vrid: int) -> Iterator[PulumiCli]:  # noqa: ANN001
    """A stack of the claims project; its config file is written directly (no secret is inline: the
    trust password is a file too)."""
    cli = PulumiCli(CLAIMS_PROJECT, f"claims-{uuid.uuid4().hex[:8]}", timeout_s=300)
    stack_file = CLAIMS_PROJECT / f"Pulumi.{cli.stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {
        "lxd:remote": daemon.url, "lxd:serverFingerprint": daemon.fingerprint,
        "lxd:clientCertFile": f"{pki}/client.crt", "lxd:clientKeyFile": f"{pki}/client.key",
        "lxd:trustPasswordFile": f"{pki}/trust-password", "lxdha-claims:vip": vip, "lxdha-claims:vrid": vrid}}))
    cli.ensure_stack()
    try:
        yield cli
    finally:
        if json.loads(cli.exported_state())["deployment"].get("resources"):  # left by a failed assertion
            cli.run("destroy", "--yes", "--skip-preview", check=False)
        cli.run("stack", "rm", "--yes", "--force", check=False)
        stack_file.unlink(missing_ok=True)


def test_claims_first_stack_wins_moves_refresh_and_release(pulumi_toolchain, standalone_daemon) -> None:
    pki = f".pki-{uuid.uuid4().hex[:8]}"  # relative to the project: resolved by the provider as by the program
    (CLAIMS_PROJECT / pki).mkdir()
    cert_pem, key_pem = self_signed_client_cert("lxdha-claims")
    (CLAIMS_PROJECT / pki / "client.crt").write_text(cert_pem)
    (CLAIMS_PROJECT / pki / "client.key").write_text(key_pem)
    (CLAIMS_PROJECT / pki / "trust-password").write_text(standalone_daemon.trust_password)
    try:
        with _stack(standalone_daemon, pki, "10.93.0.240", 51) as first:
            assert first.up_summary()["result"] == "succeeded"
            owner = f"lxdha-claims/{first.stack}"
            assert _claims(standalone_daemon) == {vip_claim_name("10.93.0.240"): owner,
                                                  "lxdha-claim-vrid-10-93-0-0-24-51": owner}
            assert first.preview_json("--expect-no-changes")["changeSummary"] == {"same": 2}
            assert key_pem.splitlines()[1] not in first.exported_state()

            with _stack(standalone_daemon, pki, "10.93.0.240", 51) as second:
                refused = second.run("preview", check=False)
            output = refused.stdout + refused.stderr
            assert refused.returncode != 0 and "Traceback" not in output
            assert f"lxdha:registry.vip: 10.93.0.240 is already taken by stack {owner}" in output
            assert f"lxdha:registry.vrid: VRID 51 on 10.93.0.0/24 is already used by stack {owner}" in output

            first.run("config", "set", "vip", "10.93.0.241")
            assert first.up_summary()["resourceChanges"] == {"update": 1, "same": 1}
            assert set(_claims(standalone_daemon)) == {vip_claim_name("10.93.0.241"),
                                                       "lxdha-claim-vrid-10-93-0-0-24-51"}

            _lxc(standalone_daemon, "profile", "delete", vip_claim_name("10.93.0.241"))  # out of band
            first.run("refresh", "--yes", "--skip-preview")
            assert first.up_summary()["resourceChanges"] == {"create": 1, "same": 1}
            assert vip_claim_name("10.93.0.241") in _claims(standalone_daemon)

            first.destroy()
            assert _claims(standalone_daemon) == {}
    finally:
        shutil.rmtree(CLAIMS_PROJECT / pki, ignore_errors=True)
