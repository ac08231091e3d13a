"""The pinned Go builds (toolchain.go_tools) and the registry artifact's publication (toolchain.registry_artifact),
without building or uploading anything real: pins, build inputs, mirror locations, idempotent upload,
and the anonymous read-back a replica will do."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.registry import DEFAULT_SERVER_VERSION, artifact_url
from toolchain.go_tools import CONFORMANCE, REGISTRY, build_env
from toolchain.registry_artifact import Artifact, ArtifactError, MirrorObject, publish, served_sha256


def test_the_default_server_version_is_the_pinned_module() -> None:
    assert REGISTRY.version == DEFAULT_SERVER_VERSION
    assert CONFORMANCE.version.startswith("v0.0.0-2026")  # the proxy serves the suite as pseudo-versions only


def test_builds_pin_the_toolchain_and_trust_only_go_sum() -> None:
    env = build_env(REGISTRY)
    assert env["GOTOOLCHAIN"] == REGISTRY.go_toolchain == CONFORMANCE.go_toolchain
    assert env["GOFLAGS"] == "-mod=readonly -buildvcs=false" and env["CGO_ENABLED"] == "0"
    assert (env["GOOS"], env["GOARCH"]) == ("linux", "amd64"), "the shipped binary is built for the replicas"
    assert CONFORMANCE.target is None, "the suite runs on this machine"
    assert f"version.version={DEFAULT_SERVER_VERSION}" in REGISTRY.ldflags()


def test_cache_path_names_version_and_inputs(tmp_path: Path) -> None:
    path = REGISTRY.binary(tmp_path)
    assert path.name == "registry" and path.parent.name.startswith(f"registry-{DEFAULT_SERVER_VERSION}-")
    assert REGISTRY.cache_key() != CONFORMANCE.cache_key()


@pytest.mark.parametrize(("mirror_url", "bucket", "key_prefix"), [
    ("http://10.91.0.30:9000/debian", "debian", "artifacts/distribution-registry"),
    ("http://10.0.0.55:9000", "artifacts", "distribution-registry"),
])
def test_mirror_location_of_the_build(mirror_url: str, bucket: str, key_prefix: str) -> None:
    target = MirrorObject.from_url(artifact_url(mirror_url, "v3.1.2"))
    assert (target.endpoint, target.bucket) == (mirror_url.split("/")[0] + "//" + mirror_url.split("/")[2], bucket)
    assert target.key == f"{key_prefix}/v3.1.2/registry-linux-amd64"


def test_a_url_without_bucket_and_key_is_refused() -> None:
    with pytest.raises(ArtifactError, match="path-style"):
        MirrorObject.from_url("http://10.0.0.55:9000/registry-linux-amd64")


class FakeS3:
    """Records uploads; head_object answers with the metadata of the last upload."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.metadata: dict[str, dict[str, str]] = {}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        from botocore.exceptions import ClientError

        if Key not in self.metadata:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {"Metadata": self.metadata[Key]}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803
        self.calls.append(("put", Key))

    def upload_file(self, path: str, bucket: str, key: str, ExtraArgs: dict[str, Any]) -> None:  # noqa: N803
        self.calls.append(("upload", key))
        self.metadata[key] = ExtraArgs["Metadata"]


def test_publish_uploads_checksum_then_binary_once(tmp_path: Path) -> None:
    binary = tmp_path / "registry"
    binary.write_bytes(b"static binary")
    artifact = Artifact(binary, "v3.1.2", hashlib.sha256(b"static binary").hexdigest())
    target = MirrorObject("http://s3", "debian", "artifacts/distribution-registry/v3.1.2/registry-linux-amd64")
    client = FakeS3()
    assert publish(client, target, artifact) is True
    assert client.calls == [("put", f"{target.key}.sha256"), ("upload", target.key)]
    assert publish(client, target, artifact) is False, "the same build is not uploaded twice"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    body = b"x" * 3_000_000

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/private":
                self.send_response(403)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", body
    finally:
        server.shutdown()
        server.server_close()


def test_anonymous_read_back_hashes_what_replicas_download(served: tuple[str, bytes]) -> None:
    base, body = served
    assert served_sha256(f"{base}/public") == hashlib.sha256(body).hexdigest()
    with pytest.raises(ArtifactError, match="public-read"):
        served_sha256(f"{base}/private")
