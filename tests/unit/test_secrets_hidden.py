"""Secrets stay out of reprs and out of errors: objects holding keys or passwords do not print them,
and a failed `--show-secrets` command never puts its standard output into an exception or a log."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cluster.connection import LxdEndpoint
from config.site import AccessConfig
from harness.registry_client import RegistryAccess
from provisioners.ansible_apply import AnsibleJob, AnsibleTarget
from toolchain.pulumi_cli import PulumiCli, PulumiError
from toolchain.stack_config import StackConfig

SECRET = "s3cr3t-VALUE-never-shown"
KEY_PEM = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----"


@pytest.mark.parametrize("holder", [
    AccessConfig(mirror={"url": "http://10.0.0.55:9000"}, authorized_keys=["ssh-ed25519 AAAA x"], private_key=KEY_PEM),
    AnsibleTarget(name="r-0", address="10.0.0.101", host_key="ssh-ed25519 AAAA", private_key_pem=KEY_PEM),
    AnsibleJob(project_dir="/tmp", playbook="registry.yml", extra_vars={"registry_s3_secret_key": SECRET}),
    RegistryAccess(host="10.0.0.250:5000", user="alice", password=SECRET, ca_cert_pem="-----BEGIN CERTIFICATE-----"),
    StackConfig(stack="prod", values={"lxd:clientKey": KEY_PEM, "lxdha:registryS3SecretKey": SECRET}),
    LxdEndpoint("https://10.0.0.100:8443", "a" * 64, "-----BEGIN CERTIFICATE-----", KEY_PEM, SECRET),
    PulumiCli(Path("/tmp"), "prod", env={"PULUMI_CONFIG_PASSPHRASE": SECRET}),
], ids=lambda holder: type(holder).__name__)
def test_repr_holds_no_secret(holder: object) -> None:
    shown = repr(holder) + str(holder)
    assert SECRET not in shown and "PRIVATE KEY" not in shown


@pytest.fixture
def failing_pulumi(tmp_path: Path) -> dict[str, str]:
    """A `pulumi` on PATH that prints decrypted secrets on stdout, an error on stderr, and fails."""
    script = tmp_path / "bin" / "pulumi"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho '{{\"lxd:clientKey\": {{\"value\": \"{SECRET}\"}}}}'\n"
                      "echo 'error: could not decrypt one value' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{script.parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("args", [("config", "--json", "--show-secrets"),
                                  ("stack", "output", "--json", "--show-secrets")])
def test_failed_show_secrets_command_keeps_stdout_out_of_the_error(failing_pulumi: dict[str, str], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   args: tuple[str, ...]) -> None:
    cli = PulumiCli(tmp_path, "prod", env=failing_pulumi, timeout_s=30)
    with pytest.raises(PulumiError) as caught:
        cli.run(*args, echo=True)
    logged = capsys.readouterr().err
    assert SECRET not in str(caught.value) and SECRET not in caught.value.result.stdout and SECRET not in logged
    assert "could not decrypt one value" in str(caught.value)  # the reason is still there


def test_other_failed_commands_keep_their_output(failing_pulumi: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(PulumiError) as caught:
        PulumiCli(tmp_path, "prod", env=failing_pulumi, timeout_s=30).run("preview")
    assert SECRET in str(caught.value)  # not a --show-secrets command: its output is the diagnosis
