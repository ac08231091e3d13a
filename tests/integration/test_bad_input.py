"""The bad-input table: each row is a stack config mistake; `pulumi preview` must fail with a message
naming the setting (and the fix), and nothing may be created in the cluster.

The table doubles as documentation: `pytest -s` prints each row's message (the closing note's table).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import testing
from lab.info import LabInfo
from tests.support.certs import self_signed_client_cert
from tests.support.lab_stack import lab_stack, stack_config

pytestmark = pytest.mark.integration

HANDMADE_ALIAS = "debian/handmade"


def _registry(lab: LabInfo, **changes: Any) -> dict[str, Any]:
    s3 = lab.data["s3"]
    registry = {"replicas": 2, "prefix": "badreg", "vip": "10.91.0.245", "vrid": 71,
                "network": {"subnet": lab.data["network"]["subnet"], "dhcpRange": lab.data["network"]["dhcp_range"]},
                "s3": {"endpoint": s3["endpoint"], "bucket": "registry", "accessKeyFile": s3["access_key_file"],
                       "secretKeyFile": s3["secret_key_file"]},
                "usersFile": ".state/registry/users",
                "tls": {"certFile": ".state/registry/tls.crt", "keyFile": ".state/registry/tls.key"}}
    for path, value in changes.items():
        node = registry
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return {"lxdha:registry": registry}


def _image(**changes: Any) -> dict[str, Any]:
    return {"lxdha:image": {**stack_config("bad", {})["lxdha:image"], **changes}}


def _rows(lab: LabInfo, tmp: Path) -> list[tuple[str, dict[str, Any], str]]:
    cert, key = self_signed_client_cert("lxdha-untrusted")
    (tmp / "untrusted.crt").write_text(cert)
    (tmp / "untrusted.key").write_text(key)
    (tmp / "wrong-password").write_text("not-the-password")
    return [
        ("invalid container name", {"lxdha:containers": {"count": 1, "prefix": "Bad_Name"}},
         "lxdha:containers.prefix"),
        ("oversized container count", {"lxdha:containers": {"count": 5000}}, "lxdha:containers.count"),
        ("replicas < 2", _registry(lab, replicas=1), "lxdha:registry.replicas"),
        ("replicas > members", _registry(lab, replicas=4), "allowReplicasOverMembers"),
        ("VIP outside the subnet", _registry(lab, vip="10.92.0.5"), "lxdha:registry.vip"),
        ("VIP in the DHCP range", _registry(lab, vip="10.91.0.150"), "inside the DHCP range"),
        ("VRID out of range", _registry(lab, vrid=300), "lxdha:registry.vrid"),
        ("unknown image", _image(source="debian/nope"), "not on the remote"),
        ("unknown image remote", _image(remote="https://10.91.0.29:8443"), "cannot reach the image remote"),
        ("unknown pinned member", {"lxdha:containers": {"count": 1, "prefix": "bp", "member": "m9"}},
         "pinned member 'm9' is not in the cluster"),
        ("missing S3 credentials", _registry(lab, s3__accessKeyFile=None), "lxdha:registryS3AccessKey"),
        ("wrong trust password", {"lxd:clientCertFile": str(tmp / "untrusted.crt"),
                                  "lxd:clientKeyFile": str(tmp / "untrusted.key"),
                                  "lxd:trustPasswordFile": str(tmp / "wrong-password")}, "lxd:trustPassword"),
        ("fingerprint mismatch", {"lxd:serverFingerprint": "ab" * 32},
         "lxd:serverFingerprint"),
        ("unreachable remote", {"lxd:remote": "https://10.91.0.29:8443"}, "lxd:remote"),
        ("duplicate alias", _image(alias=HANDMADE_ALIAS), "already exists, managed by someone outside lxdha"),
        ("oversized input", _registry(lab, prefix="x" * 600), "characters long"),
    ]


OUR_PREFIXES = ("badreg-", "bp-", "app-", "Bad_Name")  # what the rows' stacks would create (others share the lab)


def _cluster_objects(lab: LabInfo) -> tuple[set[str], set[str]]:
    client = lab.lxd_client()
    aliases = {a["name"] for a in client.api.images.aliases.get(params={"recursion": "1"}).json()["metadata"]
               if a["name"] == "debian/it-bad"}
    return {i.name for i in client.instances.all() if i.name.startswith(OUR_PREFIXES)}, aliases


@pytest.fixture(scope="module")
def handmade_alias(lab: LabInfo) -> Iterator[str]:
    """An alias someone created by hand: a stack must refuse to take it over."""
    client = lab.lxd_client()
    fingerprint = testing.copy_image_from_remote(lab, client)
    client.api.images.aliases.post(json={"name": HANDMADE_ALIAS, "target": fingerprint})
    yield HANDMADE_ALIAS
    client.api.images.aliases[HANDMADE_ALIAS].delete()


def test_every_bad_input_fails_at_preview_naming_the_setting(lab: LabInfo, handmade_alias: str,
                                                             tmp_path: Path) -> None:
    table = []
    for case, overrides, expected in _rows(lab, tmp_path):
        before = _cluster_objects(lab)
        with lab_stack("bad", overrides) as cli:
            result = cli.run("preview", check=False)
        output = result.stdout + result.stderr
        message = next((line.strip() for line in output.splitlines() if expected in line), "")
        table.append((case, message))
        assert result.returncode != 0, f"{case}: preview succeeded"
        assert message, f"{case}: no line names {expected!r}:\n{output[-2500:]}"
        assert _cluster_objects(lab) == before, f"{case}: something was created"
        assert "not-the-password" not in output and "PRIVATE KEY" not in output, f"{case}: a secret was printed"
    print("\n| bad input | error at preview |\n|---|---|")
    for case, message in table:
        print(f"| {case} | {message[:300]} |")
