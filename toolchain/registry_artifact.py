"""The registry server delivered as a site delivers internal software: the pinned distribution v3
build (a static linux/amd64 binary, `toolchain.go_tools`) published as a file in the site's mirror bucket.

Why a checksum-verified file and not a .deb in the signed apt repository: the same file serves Debian
and Alpine replicas (a .deb installs on neither Alpine nor without its own packaging), the binary is
static so a package manager would resolve nothing, and the trust anchor is the sha256 in the reviewed
stack config (`lxdha:registry.server.sha256`, defaulting to the pinned build's), which holds even if
someone can write to the bucket or holds the mirror's signing key.

    python -m toolchain.registry_artifact build                   # build (cached); print version, sha256, file
    python -m toolchain.registry_artifact publish --stack prod    # upload to the stack's lxdha:mirror.url
    python -m toolchain.registry_artifact publish --mirror-url http://10.0.0.55:9000 \
        [--access-key-file F --secret-key-file F]

The mirror must be an S3 server addressed path-style (MinIO): the first path segment of the URL is
the bucket. Keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the key files, never argv. After
the upload the file is read back anonymously, as a replica will, and its sha256 compared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError

from config.registry import DEFAULT_SERVER_SHA256, DEFAULT_SERVER_VERSION, artifact_url
from toolchain.go_tools import REGISTRY, GoBuildError, ensure_built, sha256_of


class ArtifactError(RuntimeError):
    """The build or its publication is not what the stack pins; the message says how to fix it."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    version: str
    sha256: str


@dataclass(frozen=True)
class MirrorObject:
    """Where a URL under a path-style S3 mirror lives: endpoint, bucket, key."""

    endpoint: str
    bucket: str
    key: str

    @classmethod
    def from_url(cls, url: str) -> MirrorObject:
        parts = urlsplit(url)
        bucket, _, key = parts.path.lstrip("/").partition("/")
        if parts.scheme not in ("http", "https") or not bucket or not key:
            raise ArtifactError(f"{url!r} is not http(s)://host/bucket/key on a path-style S3 mirror")
        return cls(f"{parts.scheme}://{parts.netloc}", bucket, key)


def built(cache: Path | None = None) -> Artifact:
    """The pinned build, checked against the checksum the stack config pins by default."""
    try:
        path = ensure_built(REGISTRY, cache)
    except GoBuildError as error:
        raise ArtifactError(str(error)) from None
    artifact = Artifact(path, REGISTRY.version, sha256_of(path))
    if artifact.version != DEFAULT_SERVER_VERSION:
        raise ArtifactError(f"toolchain/go/registry/go.mod pins {artifact.version} but config/registry.py "
                            f"defaults to {DEFAULT_SERVER_VERSION}; update DEFAULT_SERVER_VERSION and "
                            f"DEFAULT_SERVER_SHA256 (= {artifact.sha256})")
    if artifact.sha256 != DEFAULT_SERVER_SHA256:
        raise ArtifactError(f"the build of registry {artifact.version} ({path}) has sha256 {artifact.sha256}, but "
                            f"DEFAULT_SERVER_SHA256 pins {DEFAULT_SERVER_SHA256}: the build is not reproducible here "
                            f"(Go toolchain {REGISTRY.go_toolchain}?) or go.mod/go.sum changed without the pin")
    return artifact


def publish(client: Any, target: MirrorObject, artifact: Artifact) -> bool:
    """Uploads the binary and a `.sha256` beside it unless the bucket already holds this build;
    True when something was uploaded."""
    try:
        head = client.head_object(Bucket=target.bucket, Key=target.key)
        if head.get("Metadata", {}).get("sha256") == artifact.sha256:
            return False
    except ClientError:
        pass
    # the checksum file first: a reader that finds the binary finds its checksum too
    name = target.key.rsplit("/", 1)[-1]
    client.put_object(Bucket=target.bucket, Key=f"{target.key}.sha256", Body=f"{artifact.sha256}  {name}\n".encode(),
                      ContentType="text/plain")
    client.upload_file(str(artifact.path), target.bucket, target.key, ExtraArgs={
        "Metadata": {"sha256": artifact.sha256, "version": artifact.version},
        "ContentType": "application/octet-stream"})
    return True


def served_sha256(url: str, timeout_s: float = 60) -> str:
    """The sha256 of what an anonymous client (a replica) downloads from `url`."""
    session = requests.Session()
    session.trust_env = False
    with session.get(url, stream=True, timeout=timeout_s) as response:
        if response.status_code in (401, 403):
            raise ArtifactError(f"{url} answers {response.status_code} to an anonymous download: replicas "
                                "cannot fetch it; give the bucket a public-read (GetObject) policy")
        if response.status_code != 200:
            raise ArtifactError(f"{url} answers {response.status_code}")
        digest = hashlib.sha256()
        for block in response.iter_content(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def s3_client(endpoint: str, access_key: str, secret_key: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key,
                        config=Config(s3={"addressing_style": "path"}, connect_timeout=10, read_timeout=120))


def publish_and_verify(client: Any, mirror_url: str, artifact: Artifact) -> str:
    """Publishes under `mirror_url` and checks what replicas will download; returns the URL."""
    url = artifact_url(mirror_url, artifact.version)
    target = MirrorObject.from_url(url)
    try:
        publish(client, target, artifact)
        served = served_sha256(url)
    except (BotoCoreError, ClientError, requests.RequestException) as error:
        raise ArtifactError(f"publishing to bucket {target.bucket!r} at {target.endpoint} failed: {error}") from None
    if served != artifact.sha256:
        raise ArtifactError(f"{url} serves sha256 {served}, not the build's {artifact.sha256}")
    return url


def _keys(args: argparse.Namespace) -> tuple[str, str]:
    if args.access_key_file and args.secret_key_file:
        access, secret = (Path(path).read_text().strip() for path in (args.access_key_file, args.secret_key_file))
        if not (access and secret):
            raise ArtifactError("--access-key-file or --secret-key-file is empty")
        return access, secret
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not (access and secret):
        raise ArtifactError("no S3 keys: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass "
                            "--access-key-file and --secret-key-file")
    return access, secret


def _mirror_url(args: argparse.Namespace) -> str:
    if args.mirror_url:
        return args.mirror_url
    from cluster.errors import ConfigError
    from toolchain.stack_config import read_stack_config

    try:
        mirror = read_stack_config(args.stack).get("lxdha:mirror") or {}
    except ConfigError as error:
        raise ArtifactError(str(error)) from None
    if not mirror.get("url"):
        raise ArtifactError(f"stack {args.stack} has no lxdha:mirror.url; pass --mirror-url")
    return str(mirror["url"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m toolchain.registry_artifact", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the pinned registry (cached) and print its checksum")
    push = commands.add_parser("publish", help="upload the pinned build to a site's mirror")
    where = push.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="take the mirror from this stack's lxdha:mirror.url")
    where.add_argument("--mirror-url", help="the mirror's base URL, as in lxdha:mirror.url")
    push.add_argument("--access-key-file")
    push.add_argument("--secret-key-file")
    args = parser.parse_args(argv)
    try:
        artifact = built()
        print(f"registry {artifact.version} sha256 {artifact.sha256} {artifact.path}")
        if args.command == "publish":
            mirror_url = _mirror_url(args)
            endpoint = MirrorObject.from_url(artifact_url(mirror_url, artifact.version)).endpoint
            url = publish_and_verify(s3_client(endpoint, *_keys(args)), mirror_url, artifact)
            print(f"published {url} (anonymous download verified)")
    except ArtifactError as error:
        sys.exit(f"registry artifact: {error}")


if __name__ == "__main__":
    main()
