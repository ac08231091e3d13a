"""The registry/base playbooks parse, and the keepalived/registry templates render what we mean."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "ansible" / "roles"


@pytest.mark.parametrize("playbook", ["base.yml", "registry.yml"])
def test_playbook_syntax(playbook: str) -> None:
    binary = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin")) or shutil.which("ansible-playbook")
    if binary is None:
        pytest.skip("ansible-playbook not installed (make setup)")
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES), "ANSIBLE_LOCAL_TEMP": "/tmp"}
    result = subprocess.run([binary, "--syntax-check", "-i", "localhost,", str(ROOT / "ansible" / playbook)],
                            capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _render(template: Path, **variables: object) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(template.read_text()).render(**variables)


def _keepalived(**overrides: object) -> str:
    defaults = yaml.safe_load((ROLES / "keepalived/defaults/main.yml").read_text())
    values = {**defaults, "inventory_hostname": "registry-0", "keepalived_vip": "10.0.0.250",
              "keepalived_self_address": "10.0.0.101", "keepalived_peers": ["10.0.0.101", "10.0.0.102"],
              "keepalived_vrid": 51.0, "keepalived_vrrp_version": 3.0, "keepalived_prefix_len": 24.0, **overrides}
    return _render(ROLES / "keepalived/templates/keepalived.conf.j2", **values)


def test_keepalived_v3_unicast_peers_without_self_and_integer_fields() -> None:
    conf = _keepalived()
    assert "unicast_src_ip 10.0.0.101" in conf
    peers = conf.split("unicast_peer {")[1].split("}")[0].split()
    assert peers == ["10.0.0.102"]
    assert "virtual_router_id 51\n" in conf and "vrrp_version 3\n" in conf  # JSON numbers arrive as floats
    assert "advert_int 0.3\n" in conf and "10.0.0.250/24 dev eth0" in conf
    assert "nopreempt" in conf and "check_unicast_src" in conf and "auth_type" not in conf


def test_keepalived_v2_carries_the_vrrp_password() -> None:
    conf = _keepalived(keepalived_vrrp_version=2.0, keepalived_advert_interval_s=1.0, keepalived_auth_pass="pw")
    assert "auth_type PASS" in conf and "auth_pass pw" in conf and "advert_int 1\n" in conf


def test_registry_config_shares_the_secret_and_disables_redirects() -> None:
    defaults = yaml.safe_load((ROLES / "registry/defaults/main.yml").read_text())
    values = {**defaults, "registry_config_dir": "/etc/docker/registry", "registry_port": 5000.0,
              "registry_http_secret": "shared", "registry_s3_endpoint": "http://10.0.0.55:9000"}
    config = yaml.safe_load(_render(ROLES / "registry/templates/config.yml.j2", **values))
    assert config["http"]["addr"] == ":5000" and config["http"]["secret"] == "shared"
    assert config["storage"]["redirect"]["disable"] is True and config["storage"]["s3"]["secure"] is False
    assert config["auth"]["htpasswd"]["path"] == "/etc/docker/registry/htpasswd"
    assert config["http"]["debug"]["addr"].startswith("127.0.0.1:")
