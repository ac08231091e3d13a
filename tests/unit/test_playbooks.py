"""The registry/base playbooks parse, and the keepalived/registry templates render (and the track script
behaves) as we mean."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "ansible" / "roles"


@pytest.mark.parametrize("playbook", ["base.yml", "registry.yml", "haproxy.yml", "postgres.yml"])
def test_playbook_syntax(playbook: str) -> None:
    binary = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin")) or shutil.which("ansible-playbook")
    if binary is None:
        pytest.skip("ansible-playbook not installed (make setup)")
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES), "ANSIBLE_LOCAL_TEMP": "/tmp"}
    result = subprocess.run([binary, "--syntax-check", "-i", "localhost,", str(ROOT / "ansible" / playbook)],
                            capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _render(template: Path, **variables: object) -> str:
    return _render_text(template.read_text(), **variables)


def _render_text(text: str, **variables: object) -> str:
    # as Ansible's template module renders: a block tag's own newline is dropped (trim_blocks)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    return environment.from_string(text).render(**variables)


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


def _registry_vars(distro: str, source: str = "artifact", **overrides: object) -> dict[str, object]:
    """The role's defaults as Ansible resolves them for one distro and source (values that are
    templates are rendered until nothing changes)."""
    values: dict[str, object] = {**yaml.safe_load((ROLES / "registry/defaults/main.yml").read_text()),
                                 "lxdha_distro": distro, "registry_source": source, **overrides}
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def resolve(value: object) -> object:
        if isinstance(value, str) and "{{" in value:
            return environment.from_string(value).render(**values)
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    for _ in range(5):
        values = {key: resolve(value) for key, value in values.items()}
    return values


UNITS = "/etc/systemd/system"


@pytest.mark.parametrize(("distro", "source", "service", "config_dir", "unit"), [
    ("debian", "artifact", "distribution-registry", "/etc/distribution", f"{UNITS}/distribution-registry.service"),
    ("alpine", "artifact", "distribution-registry", "/etc/distribution", "/etc/init.d/distribution-registry"),
    ("debian", "distro", "docker-registry", "/etc/docker/registry", f"{UNITS}/docker-registry.service.d/restart.conf"),
    ("alpine", "distro", "docker-registry", "/etc/docker-registry", "/etc/conf.d/docker-registry"),
])
def test_registry_layout_per_distro_and_source(distro: str, source: str, service: str, config_dir: str,
                                               unit: str) -> None:
    values = _registry_vars(distro, source)
    assert (values["registry_service"], values["registry_config_dir"], values["registry_unit_file"]) == (
        service, config_dir, unit)


@pytest.mark.parametrize("distro", ["debian", "alpine"])
def test_registry_config_shares_the_secret_and_disables_redirects(distro: str) -> None:
    values = _registry_vars(distro, registry_port=5000.0, registry_http_secret="shared",
                            registry_s3_endpoint="http://10.0.0.55:9000")
    config = yaml.safe_load(_render(ROLES / "registry/templates/config.yml.j2", **values))
    assert config["http"]["addr"] == ":5000" and config["http"]["secret"] == "shared"
    assert config["storage"]["redirect"]["disable"] is True and config["storage"]["s3"]["secure"] is False
    assert config["storage"]["s3"]["forcepathstyle"] is True, "v3 defaults to virtual-host buckets"
    assert config["auth"]["htpasswd"]["path"] == "/etc/distribution/htpasswd"
    assert config["http"]["tls"]["certificate"] == "/etc/distribution/tls.crt"
    assert config["http"]["debug"]["addr"] == "127.0.0.1:5001", "keepalived's track script reads /debug/health there"
    assert config["health"]["storagedriver"]["enabled"] is True


def test_systemd_unit_runs_the_pinned_version_unprivileged_and_restarts() -> None:
    unit = _render(ROLES / "registry/templates/distribution-registry.service.j2",
                   **_registry_vars("debian", registry_version="v3.1.2"))
    assert ("ExecStart=/usr/local/lib/distribution-registry/registry-v3.1.2 serve /etc/distribution/config.yml"
            in unit)
    assert "User=distribution-registry\n" in unit and "Restart=always\n" in unit
    assert "StartLimitIntervalSec=0\n" in unit and "Environment=OTEL_TRACES_EXPORTER=none\n" in unit


def test_openrc_service_runs_the_pinned_version_under_supervise_daemon() -> None:
    script = _render(ROLES / "registry/templates/distribution-registry.openrc.j2",
                     **_registry_vars("alpine", registry_version="v3.1.2"))
    assert script.startswith("#!/sbin/openrc-run\n")
    assert 'command="/usr/local/lib/distribution-registry/registry-v3.1.2"' in script
    assert 'command_args="serve /etc/distribution/config.yml"' in script
    assert "supervisor=supervise-daemon" in script and "respawn_max=0" in script
    assert 'command_user="distribution-registry:distribution-registry"' in script
    assert "--env OTEL_TRACES_EXPORTER=none" in script


def _check_script(distro: str, url: str) -> str:
    """The track script as Ansible's template module renders it (trim_blocks, its urlsplit filter)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    environment.filters["urlsplit"] = lambda value, part: getattr(urllib.parse.urlsplit(value), part)
    template = (ROLES / "keepalived/templates/check_service.j2").read_text()
    return environment.from_string(template).render(lxdha_distro=distro, keepalived_check_url=url)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        self.send_response(self.status if self.path == "/debug/health" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return None


def test_keepalived_track_script_is_plain_shell_and_follows_the_health_status(tmp_path: Path) -> None:
    """keepalived runs it every second on every replica: no Python start-up each time."""
    alpine = _check_script("alpine", "http://127.0.0.1:5001/debug/health")
    assert alpine.startswith("#!/bin/sh\n")
    assert 'wget -q -T 1 -O /dev/null "http://127.0.0.1:5001/debug/health"' in alpine
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "check"
    script.write_text(_check_script("debian", f"http://127.0.0.1:{server.server_port}/debug/health"))
    assert script.read_text().startswith("#!/bin/bash\n")
    try:
        outcomes = {}
        for status in (200, 503):
            _Health.status = status
            outcomes[status] = subprocess.run(["bash", str(script)], timeout=10, check=False).returncode
    finally:
        server.shutdown()
        server.server_close()
    closed = subprocess.run(["bash", str(script)], timeout=10, check=False, stderr=subprocess.DEVNULL).returncode
    assert (outcomes[200], outcomes[503], closed) == (0, 1, 1)


def _stale_check(tmp_path: Path, started: str) -> str:
    """The registry role's "running registry predates its files" shell, run with a stub systemctl."""
    tasks = yaml.safe_load((ROLES / "registry/tasks/main.yml").read_text())
    shell = next(t for t in tasks if t["name"].startswith("Restart if the running registry predates"))
    for name in ("config.yml", "htpasswd", "tls.crt", "tls.key", "registry.service"):
        (tmp_path / name).write_text("x")
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "systemctl").write_text(f"#!/bin/sh\necho '{started}'\n")
    (stub / "systemctl").chmod(0o755)
    script = _render_text(shell["ansible.builtin.shell"], registry_service="registry", registry_config_dir=tmp_path,
                          registry_unit_file=tmp_path / "registry.service")
    return subprocess.run(["sh", "-c", script], env={**os.environ, "PATH": f"{stub}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=10, check=True).stdout


def test_a_registry_never_started_is_not_reported_stale_and_an_old_one_is(tmp_path: Path) -> None:
    assert _stale_check(tmp_path, "") == ""  # first run: the unit never ran
    assert _stale_check(tmp_path, "n/a") == ""
    assert _stale_check(tmp_path, "Thu 2020-01-02 03:04:05 UTC").strip() == "stale"
    assert _stale_check(tmp_path, "Fri 2099-01-02 03:04:05 UTC") == ""


def _haproxy_cfg() -> str:
    from components.haproxy_group import HAProxyGroupArgs, role_vars
    from config.haproxy import Backend, Frontend, HealthCheck

    args = HAProxyGroupArgs(vip_group=None, image=None, access=None, ansible_dir="",  # type: ignore[arg-type]
                            frontends=[Frontend("pg_write", 5432, "pg_primary"), Frontend("pg_read", 5433,
                                                                                          "pg_replicas")],
                            backends=[Backend("pg_primary", [], balance="first", fail_fast=True,
                                              check=HealthCheck("http", "/primary", 8008, interval_ms=500)),
                                      Backend("pg_replicas", [], check=HealthCheck("http", "/replica", 8008))])
    servers = [{"name": f"pg-{i}", "address": f"10.0.0.10{i}", "port": 5432} for i in range(3)]
    defaults = yaml.safe_load((ROLES / "haproxy/defaults/main.yml").read_text())
    return _render(ROLES / "haproxy/templates/haproxy.cfg.j2", **{**defaults, **role_vars(args, [servers, servers])})


def test_haproxy_routes_writes_to_the_primary_and_haproxy_accepts_the_config(tmp_path: Path) -> None:
    cfg = _haproxy_cfg()
    primary = cfg.split("\nbackend pg_primary")[1].split("\nbackend ")[0]
    assert "option httpchk OPTIONS /primary" in primary and "balance first" in primary
    assert "server pg-0 10.0.0.100:5432 check port 8008" in primary
    assert "on-marked-down shutdown-sessions" in primary  # a demoted primary's sessions are cut
    assert "inter 500ms" in primary and "timeout check 1000ms" in primary
    assert "option redispatch 1" in primary and "on-error mark-down" in primary  # a refusing server: the next one
    replicas = cfg.split("\nbackend pg_replicas")[1]
    assert "inter 1000ms" in replicas and "redispatch" not in replicas
    assert "bind 127.0.0.1:8404" in cfg and "monitor-uri /health" in cfg  # keepalived's check, loopback only
    binary = shutil.which("haproxy")
    if binary is None:
        pytest.skip("haproxy not installed (make setup)")
    (tmp_path / "haproxy.cfg").write_text(cfg.replace("user haproxy", "").replace("group haproxy", "")
                                          .replace("/run/haproxy/admin.sock", str(tmp_path / "admin.sock"))
                                          .replace("log /dev/log local0", ""))
    checked = subprocess.run([binary, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True,
                             timeout=30, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_patroni_config_carries_the_stack_timing_synchronous_mode_and_a_segment_only_pg_hba() -> None:
    import json
    import re

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["to_json"] = json.dumps
    environment.filters["regex_replace"] = lambda value, pattern, replacement: re.sub(pattern, replacement, value)
    environment.filters["bool"] = lambda value: str(value).lower() in ("true", "yes", "1")
    defaults = yaml.safe_load((ROLES / "postgres/defaults/main.yml").read_text())
    tasks = yaml.safe_load((ROLES / "postgres/tasks/main.yml").read_text())
    facts = next(t["ansible.builtin.set_fact"] for t in tasks if "ansible.builtin.set_fact" in t)
    values = {**defaults, "inventory_hostname": "pg-0", "pg_self_address": "10.0.0.101", "pg_subnet": "10.0.0.0/24",
              "pg_members": [{"name": f"pg-{i}", "address": f"10.0.0.10{i + 1}"} for i in range(3)]}
    rendered_facts = json.loads(environment.from_string(json.dumps(facts)).render(**values))
    config = yaml.safe_load(environment.from_string((ROLES / "postgres/templates/patroni.yml.j2").read_text())
                            .render(**values, **rendered_facts))
    assert config["etcd3"]["hosts"] == "10.0.0.101:2379,10.0.0.102:2379,10.0.0.103:2379"
    dcs = config["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == ("20", "2", "3")
    assert dcs["synchronous_mode"] == "True" and dcs["synchronous_mode_strict"] == "False"
    assert "hostssl all all 10.0.0.0/24 scram-sha-256" in config["postgresql"]["pg_hba"]
    assert config["postgresql"]["pg_hba"][-1] == "host all all 0.0.0.0/0 reject"
    assert config["watchdog"]["mode"] == "off" and "method" not in config["bootstrap"]


def test_the_postgres_role_refuses_a_patroni_that_can_hand_the_leader_key_back() -> None:
    """Before 3.0.3 a former primary could overwrite the new primary's leader key after a partition heals."""
    tasks = yaml.safe_load((ROLES / "postgres/tasks/main.yml").read_text())
    check = next(t["ansible.builtin.assert"] for t in tasks if "ansible.builtin.assert" in t
                 and "patroni" in str(t["ansible.builtin.assert"]["that"]))
    assert "version('3.0.3', '>=')" in check["that"] and "docs/postgres.md" in check["fail_msg"]
    install = next(t for t in tasks if t["name"].startswith("Install PostgreSQL"))
    assert " patroni python3-etcd " in install["ansible.builtin.shell"]
