"""The registry client never puts the login on a command line: it lives in a 0600 auth file; a pull or an
inspect that fails says why in one line, and never raises for a timeout or a broken layout."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import registry_client
from harness.registry_client import Image, RegistryAccess, Skopeo, digest_error, pull_error

IMAGE = Image("r", "a", "sha256:aa")


def test_the_password_is_in_a_0600_auth_file_and_never_in_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess:
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(registry_client.subprocess, "run", fake_run)
    access = RegistryAccess("10.91.0.247:5000", "lxdha", "s3cret-pass", "-----BEGIN CERTIFICATE-----\n")
    skopeo = Skopeo(access, tmp_path)
    skopeo.push(tmp_path / "oci", "r", "t")
    skopeo.digest("r", "t")
    skopeo.pull("r", "t", tmp_path / "out")
    skopeo.digest("r", "t", anonymous=True)
    assert all("s3cret-pass" not in " ".join(argv) for argv in seen)
    assert "--dest-authfile" in seen[0] and "--authfile" in seen[1] and "--src-authfile" in seen[2]
    assert "--no-creds" in seen[3]
    assert stat.S_IMODE(skopeo.auth_file.stat().st_mode) == 0o600
    auth = json.loads(skopeo.auth_file.read_text())["auths"]["10.91.0.247:5000"]["auth"]
    assert base64.b64decode(auth).decode() == "lxdha:s3cret-pass"
    assert "s3cret-pass" not in repr(access)


class FakeSkopeo:
    """Skopeo's pull and inspect, answering what a test sets."""

    def __init__(self, returncode: int = 0, stdout: str = "", stderr: str = "", manifest: str = "sha256:aa",
                 raises: Exception | None = None) -> None:
        self.result = subprocess.CompletedProcess([], returncode, stdout, stderr)
        self.manifest, self.raises = manifest, raises

    def _answer(self, after: Callable[[], None] = lambda: None) -> subprocess.CompletedProcess:
        if self.raises:
            raise self.raises
        if self.result.returncode == 0:
            after()
        return self.result

    def pull(self, _repository: str, _tag: str, destination: Path) -> subprocess.CompletedProcess:
        def layout() -> None:
            destination.mkdir(parents=True)
            (destination / "index.json").write_text(json.dumps({"manifests": [{"digest": self.manifest}]}))
        return self._answer(layout)

    def digest(self, _repository: str, _tag: str) -> subprocess.CompletedProcess:
        return self._answer()


@pytest.mark.parametrize(("skopeo", "error"), [
    (FakeSkopeo(), None),
    (FakeSkopeo(manifest="sha256:zz"), "pulled manifest sha256:zz, pushed sha256:aa"),
    (FakeSkopeo(1, stderr="copying\nmanifest unknown\n\n"), "manifest unknown"),
    (FakeSkopeo(3), "skopeo exited 3"),
    (FakeSkopeo(raises=subprocess.TimeoutExpired(["skopeo"], 120)),
     "TimeoutExpired: Command '['skopeo']' timed out after 120 seconds"),
])
def test_pull_error(skopeo: FakeSkopeo, error: str | None, tmp_path: Path) -> None:
    (tmp_path / "pulled").mkdir()
    (tmp_path / "pulled" / "stale").write_text("a previous pull")
    assert pull_error(skopeo, IMAGE, tmp_path / "pulled") == error  # type: ignore[arg-type]


def test_pull_error_of_a_broken_layout(tmp_path: Path) -> None:
    class NoLayout(FakeSkopeo):
        def pull(self, *_args: Any) -> subprocess.CompletedProcess:
            return self.result

    assert pull_error(NoLayout(), IMAGE, tmp_path / "pulled").startswith("FileNotFoundError: ")  # type: ignore[arg-type]


@pytest.mark.parametrize(("skopeo", "error"), [
    (FakeSkopeo(stdout="sha256:aa\n"), None),
    (FakeSkopeo(stdout="sha256:zz\n"), "served manifest sha256:zz, pushed sha256:aa"),
    (FakeSkopeo(1, stderr="unauthorized\n"), "unauthorized"),
    (FakeSkopeo(raises=subprocess.TimeoutExpired(["skopeo"], 120)),
     "TimeoutExpired: Command '['skopeo']' timed out after 120 seconds"),
])
def test_digest_error(skopeo: FakeSkopeo, error: str | None) -> None:
    assert digest_error(skopeo, IMAGE) == error  # type: ignore[arg-type]
