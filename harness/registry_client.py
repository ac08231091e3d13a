"""A real registry client (skopeo) for the demo and tests: push generated images through the VIP,
pull them back, compare digests. Images are OCI layouts built locally (harness.oci_layout), so nothing is
fetched from the internet. The login lives in a 0600 auth file, never on a command line.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.private_dirs import private_dir
from harness.oci_layout import REF, build_sample_image
from lab.files import write_secret

SKOPEO_TIMEOUT_S = 120


@dataclass(frozen=True)
class RegistryAccess:
    host: str  # VIP:port
    user: str
    password: str = field(repr=False)  # secret: never in a repr
    ca_cert_pem: str


@dataclass(frozen=True)
class Image:
    """An image pushed through the registry: what a client pulls back and checks the digest of."""

    repository: str
    tag: str
    digest: str


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

    def ref(self, repository: str, tag: str) -> str:
        return f"docker://{self.access.host}/{repository}:{tag}"

    def push(self, layout: Path, repository: str, tag: str, anonymous: bool = False, all_images: bool = False,
             timeout: float = SKOPEO_TIMEOUT_S) -> subprocess.CompletedProcess:
        """Copies the layout's image as it is (with `all_images`, an index and every image in it). Digests
        are kept: skopeo would otherwise compress an uncompressed layer, changing every digest."""
        every = ["--all"] if all_images else []
        return self._run("copy", *every, "--preserve-digests", "--dest-cert-dir", str(self.cert_dir),
                         *self._auth("dest-", anonymous), f"oci:{layout}:{REF}", self.ref(repository, tag),
                         timeout=timeout)

    def digest(self, repository: str, tag: str, anonymous: bool = False) -> subprocess.CompletedProcess:
        return self._run("inspect", "--cert-dir", str(self.cert_dir), *self._auth("", anonymous),
                         "--format", "{{.Digest}}", self.ref(repository, tag))

    def raw_manifest(self, repository: str, tag: str) -> subprocess.CompletedProcess:
        """The manifest (or index) exactly as the registry serves it."""
        return self._run("inspect", "--raw", "--cert-dir", str(self.cert_dir), *self._auth("", False),
                         self.ref(repository, tag))

    def pull(self, repository: str, tag: str, destination: Path, all_images: bool = False,
             timeout: float = SKOPEO_TIMEOUT_S) -> subprocess.CompletedProcess:
        every = ["--all"] if all_images else []
        return self._run("copy", *every, "--preserve-digests", "--src-cert-dir", str(self.cert_dir),
                         *self._auth("src-", False), self.ref(repository, tag), f"oci:{destination}:{REF}",
                         timeout=timeout)


    def push_sample(self, layout: Path, repository: str, tag: str, content: str) -> str:
        """Builds a one-layer image holding `content`, pushes it as repository:tag and returns the digest
        the registry serves it under (raises with skopeo's message on failure)."""
        build_sample_image(layout, content)
        pushed = self.push(layout, repository, tag)
        if pushed.returncode != 0:
            raise RuntimeError(f"push of {repository}:{tag} to {self.access.host} failed: "
                               f"{pushed.stderr.strip()[-500:]}")
        digest = self.digest(repository, tag)
        if digest.returncode != 0:
            raise RuntimeError(f"inspect of {repository}:{tag} on {self.access.host} failed: "
                               f"{digest.stderr.strip()[-500:]}")
        return digest.stdout.strip()


def error_line(error: BaseException) -> str:
    """An exception as one short line of a pull's record."""
    return f"{type(error).__name__}: {error}"[-300:]


def _failure(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return (lines[-1] if lines else f"skopeo exited {result.returncode}")[-300:]


def pull_error(skopeo: Skopeo, image: Image, destination: Path) -> str | None:
    """Pulls `image` (manifest and blobs) into a fresh OCI layout at `destination`; None when its manifest
    digest is the one pushed, else why not. Never raises for a timeout or a broken layout: a failed pull."""
    shutil.rmtree(destination, ignore_errors=True)
    try:
        result = skopeo.pull(image.repository, image.tag, destination)
        if result.returncode != 0:
            return _failure(result)
        digest = json.loads((destination / "index.json").read_text())["manifests"][0]["digest"]
    except (subprocess.SubprocessError, OSError, ValueError, LookupError) as error:
        return error_line(error)
    return None if digest == image.digest else f"pulled manifest {digest}, pushed {image.digest}"


def digest_error(skopeo: Skopeo, image: Image) -> str | None:
    """Inspects `image` (its manifest only); None when the registry serves it under the digest pushed."""
    try:
        result = skopeo.digest(image.repository, image.tag)
    except subprocess.SubprocessError as error:
        return error_line(error)
    if result.returncode != 0:
        return _failure(result)
    served = result.stdout.strip()
    return None if served == image.digest else f"served manifest {served}, pushed {image.digest}"


def push_and_pull(access: RegistryAccess, repository: str = "lxdha/sample") -> dict[str, object]:
    """Pushes a fresh image, pulls it back, returns digests and timings (raises on any failure)."""
    with private_dir("lxdha-skopeo-") as work:
        work_dir = Path(work)
        skopeo = Skopeo(access, work_dir)
        tag = time.strftime("demo-%Y%m%d-%H%M%S")
        started = time.monotonic()
        digest = skopeo.push_sample(work_dir / "image", repository, tag, f"pushed by lxdha at {time.time()}")
        push_s = time.monotonic() - started
        started = time.monotonic()
        pulled = skopeo.pull(repository, tag, work_dir / "pulled")
        if pulled.returncode != 0:
            raise RuntimeError(f"pull from {access.host} failed: {pulled.stderr.strip()}")
        pull_s = time.monotonic() - started
        local_index = json.loads((work_dir / "pulled" / "index.json").read_text())
        return {"reference": f"{access.host}/{repository}:{tag}", "digest": digest,
                "pulled_manifest": local_index["manifests"][0]["digest"], "push_s": round(push_s, 2),
                "pull_s": round(pull_s, 2)}
