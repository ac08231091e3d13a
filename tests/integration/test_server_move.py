"""A stack moved from an LXD cluster to an Incus one (docs/servers.md, "Moving a stack from LXD to
Incus"): the registry deployed on the lab's LXD cluster and an image pushed through its VIP; the cluster
replaced by an Incus cluster at the same addresses (the lab re-built on Incus: new certificates, no
containers, no images); then the same stack's `pulumi up` makes the replicas again on Incus, and the
image pulls through the VIP with its digest. A site's S3 outlives both clusters; the lab's lives inside
the lab, so its registry objects are copied across the re-build (the "data copy" of the move).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.lab_secrets import TLS_CERT, ensure_all, registry_login
from harness.lab_stacks import registry_overrides
from harness.oci_layout import build_sample_image
from harness.registry_client import RegistryAccess, Skopeo
from lab.info import LabInfo
from lab.teardown import down
from lab.up import up
from tests.support.lab_stack import change_counts, lab_stack

pytestmark = pytest.mark.integration
PREFIX, VIP, VRID, ROOT_DIRECTORY = "itmove", "10.91.0.242", 64, "/it-registry-move"


def _rebuilt(lab: LabInfo, backend: str) -> LabInfo:
    """The lab's cluster replaced by one on `backend` at the same addresses."""
    assert down(lab.config) == [], "the lab did not come down clean"
    return up(dataclasses.replace(lab.config, backend=backend))


def _objects(lab: LabInfo) -> Iterator[str]:
    """The key of every object this stack's registry keeps in the lab's S3."""
    s3, bucket = lab.s3_client(), lab.data["s3"]["buckets"]["registry"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ROOT_DIRECTORY.lstrip("/") + "/"):
        for entry in page.get("Contents", []):
            yield entry["Key"]


def _copy_out(lab: LabInfo, into: Path) -> int:
    s3, bucket = lab.s3_client(), lab.data["s3"]["buckets"]["registry"]
    count = 0
    for key in _objects(lab):
        target = into / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
        count += 1
    return count


def _copy_in(lab: LabInfo, source: Path) -> int:
    s3, bucket = lab.s3_client(), lab.data["s3"]["buckets"]["registry"]
    files = [path for path in sorted(source.rglob("*")) if path.is_file()]
    for path in files:
        s3.upload_file(str(path), bucket, str(path.relative_to(source)))
    return len(files)


@pytest.mark.lab_rebuild
def test_a_registry_stack_moves_from_lxd_to_incus_and_its_images_still_pull(lab: LabInfo, tmp_path: Path) -> None:
    session_backend = lab.config.backend
    on_lxd = lab if session_backend == "lxd" else _rebuilt(lab, "lxd")
    ensure_all()
    config = registry_overrides(on_lxd.data, prefix=PREFIX, vip=VIP, vrid=VRID, root_directory=ROOT_DIRECTORY)
    try:
        with lab_stack("server-move", config) as cli:
            assert cli.up_summary()["result"] == "succeeded"
            user, password = registry_login()
            skopeo = Skopeo(RegistryAccess(f"{VIP}:5000", user, password, TLS_CERT.read_text()), tmp_path / "skopeo")
            build_sample_image(tmp_path / "image", f"moved to Incus {time.time()}")
            assert skopeo.push(tmp_path / "image", "it/moved", "v1").returncode == 0
            digest = skopeo.digest("it/moved", "v1").stdout.strip()
            assert digest.startswith("sha256:")
            copied = _copy_out(on_lxd, tmp_path / "s3")
            assert copied > 0, "the push left nothing in S3"

            on_incus = _rebuilt(on_lxd, "incus")
            assert on_incus.data["lxd"]["server"] == "incus"
            assert _copy_in(on_incus, tmp_path / "s3") == copied
            moved = cli.up_summary()
            assert moved["result"] == "succeeded", moved
            replicas = cli.outputs()["registry"]["replicas"]
            client = on_incus.lxd_client()
            assert {client.instances.get(r["name"]).status for r in replicas} == {"Running"}
            assert skopeo.digest("it/moved", "v1").stdout.strip() == digest, "the moved registry lost the image"
            pulled = skopeo.pull("it/moved", "v1", tmp_path / "pulled")
            assert pulled.returncode == 0, pulled.stderr
            assert change_counts(cli.up_summary()) == {}, "the up after the move must change nothing"
    finally:
        shutil.rmtree(tmp_path / "s3", ignore_errors=True)
        if lab.data["lxd"]["server"] != session_backend:  # the session goes on with the lab it began with
            _rebuilt(lab, session_backend)
