"""The registry client never puts the login on a command line: it lives in a 0600 auth file."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ops import registry_client
from ops.registry_client import RegistryAccess, Skopeo


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
