"""OCI image layouts generated on this machine (nothing is fetched from the internet), for skopeo to
push: a one-file sample image, a multi-arch index, and an image with one large layer.

Every image is tagged `latest` in its layout (skopeo's `oci:<dir>:latest`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF = "latest"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def as_json(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def blob(self, media_type: str, data: bytes) -> Descriptor:
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return Descriptor(media_type, f"sha256:{digest}", len(data))

    def json_blob(self, media_type: str, document: dict[str, Any]) -> Descriptor:
        return self.blob(media_type, json.dumps(document, sort_keys=True).encode())

    def image(self, layers: list[tuple[Descriptor, str]], architecture: str = "amd64") -> Descriptor:
        """A manifest over `layers` (descriptor, uncompressed digest) with its config."""
        config = self.json_blob(CONFIG, {"architecture": architecture, "os": "linux", "config": {},
                                         "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]}})
        return self.json_blob(MANIFEST, {"schemaVersion": 2, "mediaType": MANIFEST, "config": config.as_json(),
                                         "layers": [layer.as_json() for layer, _ in layers]})

    def tag(self, descriptor: Descriptor, **extra: Any) -> None:
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor.as_json(
            annotations={"org.opencontainers.image.ref.name": REF}, **extra)]}))


def _tar_of(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(payload), 0
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _small_layer(layout: Layout, content: str) -> tuple[Descriptor, str]:
    raw = _tar_of("lxdha-sample.txt", content.encode())
    return layout.blob(LAYER_GZIP, gzip.compress(raw, mtime=0)), f"sha256:{hashlib.sha256(raw).hexdigest()}"


def build_sample_image(root: Path, content: str) -> Descriptor:
    """A one-layer image whose only file holds `content` (unique content = a new blob)."""
    layout = Layout(root)
    manifest = layout.image([_small_layer(layout, content)])
    layout.tag(manifest)
    return manifest


def build_multi_arch_index(root: Path, content: str, architectures: tuple[str, ...] = ("amd64", "arm64")
                           ) -> tuple[Descriptor, dict[str, Descriptor]]:
    """An index with one single-layer image per architecture; returns (index, {arch: manifest})."""
    layout = Layout(root)
    manifests = {arch: layout.image([_small_layer(layout, f"{content} {arch}")], arch) for arch in architectures}
    index = layout.json_blob(INDEX, {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        manifest.as_json(platform={"architecture": arch, "os": "linux"}) for arch, manifest in manifests.items()]})
    layout.tag(index)
    return index, manifests


class _RandomReader(io.RawIOBase):
    """`size` pseudo-random bytes (incompressible, fast to make), read once."""

    def __init__(self, size: int, seed: int) -> None:
        self.left, self.random = size, random.Random(seed)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left, 1 << 20)
        buffer[:count] = self.random.randbytes(count)
        self.left -= count
        return count


class _HashingWriter(io.RawIOBase):
    def __init__(self, target: BinaryIO) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.target.write(data)
        self.size += len(data)
        return len(data)


def build_large_image(root: Path, size: int, seed: int) -> tuple[Descriptor, Descriptor]:
    """An image whose one uncompressed layer holds `size` random bytes; returns (manifest, layer).
    Written as a stream: memory stays small whatever the size."""
    layout = Layout(root)
    partial = layout.blobs / ".layer.partial"
    with partial.open("wb") as out:
        writer = _HashingWriter(out)
        with tarfile.open(fileobj=writer, mode="w|") as tar:
            info = tarfile.TarInfo("lxdha-large.bin")
            info.size, info.mtime = size, 0
            tar.addfile(info, _RandomReader(size, seed))
    digest = writer.digest.hexdigest()
    os.replace(partial, layout.blobs / digest)
    layer = Descriptor(LAYER_TAR, f"sha256:{digest}", writer.size)
    manifest = layout.image([(layer, layer.digest)])  # an uncompressed layer is its own diff id
    layout.tag(manifest)
    return manifest, layer
