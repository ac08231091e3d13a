"""A real registry client (skopeo) for the demo and tests: push a small generated image through the
VIP, pull it back, compare digests. The image is built locally as an OCI layout, so nothing is
fetched from the internet. The login lives in a 0600 auth file, never on a command line.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.files import write_secret

SKOPEO_TIMEOUT_S = 120


@dataclass(frozen=True)
class RegistryAccess:
    host: str  # VIP:port
    user: str
    password: str = field(repr=False)  # secret: never in a repr
    ca_cert_pem: str


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def build_sample_image(layout: Path, content: str) -> None:
    """A one-layer OCI image whose only file holds `content` (unique content = a new blob)."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        payload = content.encode()
        info = tarfile.TarInfo("lxdha-sample.txt")
        info.size, info.mtime = len(payload), 0
        tar.addfile(info, io.BytesIO(payload))
    raw_layer = layer_tar.getvalue()
    layer_digest, layer_size = _blob(layout, gzip.compress(raw_layer, mtime=0))
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw_layer).hexdigest()}"]}}
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                           "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                            "size": layer_size}]}
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
         "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))


def write_auth_file(path: Path, host: str, user: str, password: str) -> None:
    """containers-auth.json for one registry, created 0600."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    write_secret(path, json.dumps({"auths": {host: {"auth": token}}}))


class Skopeo:
    """skopeo against one registry, trusting only its configured CA certificate."""

    def __init__(self, access: RegistryAccess, work_dir: Path) -> None:
        self.access = access
        self.cert_dir = work_dir / "certs"
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        (self.cert_dir / "ca.crt").write_text(access.ca_cert_pem)
        self.auth_file = work_dir / "auth.json"
        write_auth_file(self.auth_file, access.host, access.user, access.password)

    def _run(self, *args: str, timeout: float = SKOPEO_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def _auth(self, side: str, anonymous: bool) -> list[str]:
        """`side` is "src-", "dest-" or "" (inspect)."""
        return [f"--{side}no-creds"] if anonymous else [f"--{side}authfile", str(self.auth_file)]

    def push(self, layout: Path, repository: str, tag: str, anonymous: bool = False) -> subprocess.CompletedProcess:
        return self._run("copy", "--dest-cert-dir", str(self.cert_dir), *self._auth("dest-", anonymous),
                         f"oci:{layout}:latest", f"docker://{self.access.host}/{repository}:{tag}")

    def digest(self, repository: str, tag: str, anonymous: bool = False) -> subprocess.CompletedProcess:
        return self._run("inspect", "--cert-dir", str(self.cert_dir), *self._auth("", anonymous),
                         "--format", "{{.Digest}}", f"docker://{self.access.host}/{repository}:{tag}")

    def pull(self, repository: str, tag: str, destination: Path) -> subprocess.CompletedProcess:
        return self._run("copy", "--src-cert-dir", str(self.cert_dir), *self._auth("src-", False),
                         f"docker://{self.access.host}/{repository}:{tag}", f"oci:{destination}:latest")


def push_and_pull(access: RegistryAccess, repository: str = "lxdha/sample") -> dict[str, object]:
    """Pushes a fresh image, pulls it back, returns digests and timings (raises on any failure)."""
    with tempfile.TemporaryDirectory(prefix="lxdha-skopeo-") as work:
        work_dir = Path(work)
        skopeo = Skopeo(access, work_dir)
        tag = time.strftime("demo-%Y%m%d-%H%M%S")
        build_sample_image(work_dir / "image", f"pushed by lxdha at {time.time()}")
        started = time.monotonic()
        pushed = skopeo.push(work_dir / "image", repository, tag)
        if pushed.returncode != 0:
            raise RuntimeError(f"push to {access.host} failed: {pushed.stderr.strip()}")
        push_s = time.monotonic() - started
        remote = skopeo.digest(repository, tag)
        if remote.returncode != 0:
            raise RuntimeError(f"inspect on {access.host} failed: {remote.stderr.strip()}")
        started = time.monotonic()
        pulled = skopeo.pull(repository, tag, work_dir / "pulled")
        if pulled.returncode != 0:
            raise RuntimeError(f"pull from {access.host} failed: {pulled.stderr.strip()}")
        pull_s = time.monotonic() - started
        local_index = json.loads((work_dir / "pulled" / "index.json").read_text())
        return {"reference": f"{access.host}/{repository}:{tag}", "digest": remote.stdout.strip(),
                "pulled_manifest": local_index["manifests"][0]["digest"], "push_s": round(push_s, 2),
                "pull_s": round(pull_s, 2)}
