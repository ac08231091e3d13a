"""examples/registry-yaml: a Pulumi YAML program declares an HARegistry through the component plugin
(`pulumi-resource-lxdha`); on the lab it deploys, a real client pushes and pulls through its VIP, a second
preview changes nothing, and destroy leaves no replica behind. The secrets go in as stack secrets read
from standard input, as the example tells a user to set them."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.facts import read_instance
from cluster.images import copy_image, ensure_alias, remove_alias
from harness.lab_secrets import SSH_KEY, TLS_CERT, TLS_KEY, ensure_all
from harness.lab_stacks import throwaway_stack
from harness.registry_client import RegistryAccess, push_and_pull
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, PulumiCli

pytestmark = pytest.mark.integration
EXAMPLE = ROOT / "examples" / "registry-yaml"
STACK = "it-yamlreg"
PREFIX, VIP, VRID = "ityaml", "10.91.0.249", 77
ALIAS, OWNER = "debian/it-yamlreg", "test_yaml_registry"
CI_PASSWORD_BYTES = 18


def _stack_config(lab: LabInfo) -> dict[str, object]:
    data, project = lab.data, "lxdha-registry-yaml"
    s3 = data["s3"]
    return {
        "lxd:remote": lab.lb_url, "lxd:serverFingerprint": data["lxd"]["server_fingerprint"],
        "lxd:clientCertFile": str(lab.client_cert), "lxd:clientKeyFile": str(lab.client_key),
        **{f"{project}:{key}": value for key, value in {
            "image": ALIAS, "prefix": PREFIX, "vip": VIP, "vrid": VRID,
            "subnet": data["network"]["subnet"], "dhcpRange": data["network"]["dhcp_range"],
            "mirrorUrl": data["mirror"]["url"], "mirrorSuite": data["mirror"]["suite"],
            "mirrorSigningKey": Path(data["mirror"]["key_armored"]).read_text(),
            "authorizedKey": SSH_KEY.with_suffix(".pub").read_text().strip(),
            "s3Endpoint": s3["endpoint"], "s3Region": s3["region"], "s3Bucket": s3["buckets"]["registry"],
            "s3RootDirectory": "/it-yaml-registry", "s3AccessKey": Path(s3["access_key_file"]).read_text().strip(),
            "tlsCert": TLS_CERT.read_text()}.items()},
    }


@contextlib.contextmanager
def _example_stack(lab: LabInfo, ci_password: str) -> Iterator[PulumiCli]:
    with throwaway_stack(EXAMPLE, STACK, _stack_config(lab)) as cli:
        for key, value in (("sshPrivateKey", SSH_KEY.read_text()), ("tlsKey", TLS_KEY.read_text()),
                           ("s3SecretKey", Path(lab.data["s3"]["secret_key_file"]).read_text().strip()),
                           ("ciPassword", ci_password)):
            cli.set_secret(key, value)
        yield cli


def test_yaml_registry_serves_through_its_vip_and_destroys(lab: LabInfo, tmp_path: Path) -> None:
    ensure_all()
    client = lab.lxd_client()
    ensure_alias(client, ALIAS, copy_image(client, lab.image())["fingerprint"], OWNER)
    ci_password = secrets.token_urlsafe(CI_PASSWORD_BYTES)
    try:
        with _example_stack(lab, ci_password) as cli:
            summary = cli.up_summary()
            assert summary["result"] == "succeeded", summary
            outputs = cli.outputs()
            assert outputs == {"url": f"https://{VIP}:5000", "vip": VIP}
            state = cli.exported_state()
            assert ci_password not in state and TLS_KEY.read_text().strip() not in state
            result = push_and_pull(RegistryAccess(f"{VIP}:5000", "ci", ci_password, TLS_CERT.read_text()),
                                   repository="it/yaml")
            assert result["digest"] == result["pulled_manifest"], result
            assert all(step.get("op") == "same" for step in cli.preview_json()["steps"])
            replicas = [f"{PREFIX}-{index}" for index in range(2)]
            assert all(read_instance(client, name) is not None for name in replicas)
        assert all(read_instance(client, name) is None for name in replicas)
    finally:
        remove_alias(client, ALIAS, OWNER)
