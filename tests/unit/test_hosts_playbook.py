"""ansible/hosts.yml: it parses, and it sets every kernel parameter a service declares."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.host_requirements import KEEPALIVED, POSTGRES

ROOT = Path(__file__).resolve().parents[2]


def test_role_defaults_cover_every_declared_requirement() -> None:
    defaults = yaml.safe_load((ROOT / "ansible/roles/hosts/defaults/main.yml").read_text())["lxdha_host_sysctls"]
    for requirement in KEEPALIVED + POSTGRES:
        assert str(defaults.get(requirement.key)) == requirement.value, requirement.key


def test_playbook_syntax() -> None:
    playbook = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin")) or shutil.which("ansible-playbook")
    if playbook is None:
        pytest.skip("ansible-playbook not installed (make setup)")
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "ansible/roles"), "ANSIBLE_LOCAL_TEMP": "/tmp"}
    result = subprocess.run([playbook, "--syntax-check", "-i", "localhost,", str(ROOT / "ansible/hosts.yml")],
                            capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
