"""The lab runs LXD or Incus (LAB_BACKEND): each server's commands and variables, and a lab that is up keeps
its server until `down`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.backend import INCUS, LXD
from lab.config import LabConfig


def test_each_server_is_driven_by_its_own_commands_and_variables(tmp_path: Path) -> None:
    assert LXD.daemon_argv(tmp_path) == ["lxd", "--group", "root", "--logfile", str(tmp_path / "lxd.log")]
    assert INCUS.daemon_argv(tmp_path)[0] == "/usr/libexec/incus/incusd"
    assert LXD.init_argv() == ["lxd", "init", "--preseed"]
    assert INCUS.init_argv() == ["incus", "admin", "init", "--preseed"]
    assert INCUS.shutdown_argv(20) == ["incus", "admin", "shutdown", "--timeout", "20"]
    assert INCUS.cluster_add_argv("m2") == ["incus", "cluster", "add", "m2", "--quiet"]
    assert LXD.trust_password and not INCUS.trust_password  # Incus trusts a new client by token only


def test_the_environment_names_only_the_chosen_servers_directory(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("LXD_DIR", "/var/lib/lxd")
    monkeypatch.setenv("INCUS_CONF", "/root/.config/incus")
    env = INCUS.env(tmp_path)
    assert env["INCUS_DIR"] == str(tmp_path) and "LXD_DIR" not in env and "INCUS_CONF" not in env


def test_lab_backend_is_checked_and_a_running_lab_keeps_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_BACKEND", "podman")
    with pytest.raises(ValueError, match="LAB_BACKEND must be one of lxd, incus"):
        LabConfig.from_env()
    monkeypatch.delenv("LAB_BACKEND")
    assert LabConfig.resolve().server is LXD
    (tmp_path / "state.json").write_text(json.dumps({"members": 3, "storage": "btrfs", "backend": "incus"}))
    assert LabConfig.resolve().server is INCUS
