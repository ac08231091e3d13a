"""Applies an Ansible playbook to exactly one host through ansible-runner.

Each run gets its own private data dir (inventory, key, known_hosts), deleted afterwards; the SSH
host key is pinned from the bootstrap (read over the trusted LXD channel), so there is no
trust-on-first-use and no shared known_hosts to go stale when addresses are reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster.private_dirs import private_dir

PLAYBOOK_TIMEOUT_S = 900
CONTENT_SUFFIXES = (".yml", ".yaml", ".j2", ".cfg", ".conf", ".sh", ".py", ".txt")


class AnsibleError(RuntimeError):
    """The playbook failed on the host; carries the failing task's message."""


@dataclass(frozen=True)
class AnsibleTarget:
    name: str
    address: str
    host_key: str  # "ssh-ed25519 AAAA..." as read from the host
    private_key_pem: str = field(repr=False)  # secret: never in a repr
    user: str = "root"


@dataclass(frozen=True)
class AnsibleJob:
    project_dir: str
    playbook: str
    extra_vars: dict[str, Any] = field(default_factory=dict, repr=False)  # holds service secrets
    timeout_s: int = PLAYBOOK_TIMEOUT_S


def content_hash(project_dir: str | Path, paths: Iterable[str] = ("",)) -> str:
    """Hash of every playbook/role/template file under `paths`: a change re-applies the role."""
    root = Path(project_dir)
    digest = hashlib.sha256()
    for sub in paths:
        for file in sorted((root / sub).rglob("*")):
            if file.is_file() and file.suffix in CONTENT_SUFFIXES:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def inventory_for(target: AnsibleTarget, key_path: str, known_hosts_path: str) -> dict[str, Any]:
    """A one-host inventory: the run cannot touch any other host."""
    ssh_args = (f"-o UserKnownHostsFile={known_hosts_path} -o StrictHostKeyChecking=yes "
                "-o ConnectTimeout=10")
    return {
        "all": {
            "hosts": {
                target.name: {
                    "ansible_host": target.address,
                    "ansible_user": target.user,
                    "ansible_ssh_private_key_file": key_path,
                    "ansible_ssh_common_args": ssh_args,
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            }
        }
    }


def _write_private(path: str, content: str) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")


def _failure_message(runner: Any) -> str:
    for event in reversed(list(runner.events)):
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            data = event.get("event_data", {})
            result = data.get("res", {})
            message = result.get("msg") or result.get("stderr") or str(result)[:500]
            return f"task '{data.get('task')}' on {data.get('host')}: {message}"
    return (runner.stdout.read()[-2000:] if runner.stdout else "no output")


def apply_playbook(target: AnsibleTarget, job: AnsibleJob) -> None:
    """Runs the playbook limited to `target` in a child process; raises AnsibleError naming the failed task.

    Why a child: ansible-runner forks and installs signal handlers, which is unsafe inside the
    dynamic provider's multi-threaded gRPC server (parallel applies failed with rc None there).
    The private key travels on stdin, never in argv or the environment.
    """
    request = {"target": asdict(target), "job": asdict(job)}
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    try:
        result = subprocess.run([sys.executable, "-m", "provisioners.ansible_job"], input=json.dumps(request),
                                stdout=subprocess.PIPE, stderr=None, text=True, env=env,
                                timeout=job.timeout_s + 60, check=False)
    except subprocess.TimeoutExpired:
        raise AnsibleError(f"ansible {job.playbook} on {target.name} timed out after {job.timeout_s}s") from None
    lines = result.stdout.strip().splitlines()
    outcome = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {
        "error": f"ansible runner exited {result.returncode} without a result: {result.stdout[-2000:]}"}
    if outcome.get("error"):
        raise AnsibleError(outcome["error"])


def run_playbook_here(target: AnsibleTarget, job: AnsibleJob) -> None:
    """The in-process ansible-runner call; only ever run inside the single-threaded child."""
    import ansible_runner  # imported here: heavy, and only needed at apply time

    with private_dir("lxdha-ansible-") as data_dir:
        key_path = os.path.join(data_dir, "id_key")
        known_hosts = os.path.join(data_dir, "known_hosts")
        _write_private(key_path, target.private_key_pem)
        _write_private(known_hosts, f"{target.address} {target.host_key}")
        inventory_dir = Path(data_dir, "inventory")
        inventory_dir.mkdir()
        (inventory_dir / "hosts.yml").write_text(yaml.safe_dump(inventory_for(target, key_path, known_hosts)))
        # extra vars hold secrets: a 0600 file in the private dir, never the command line (ps shows it)
        vars_path = os.path.join(data_dir, "extra_vars.json")
        _write_private(vars_path, json.dumps(job.extra_vars))
        runner = ansible_runner.run(
            private_data_dir=data_dir,
            project_dir=job.project_dir,
            playbook=job.playbook,
            inventory=str(inventory_dir),
            limit=target.name,
            cmdline=f"-e @{vars_path}",
            envvars={
                "ANSIBLE_ROLES_PATH": os.path.join(job.project_dir, "roles"),
                "ANSIBLE_HOST_KEY_CHECKING": "True",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "True",
                "ANSIBLE_PIPELINING": "True",
                # one SSH connection per run, its socket inside this run's private dir (never shared with
                # a later host that gets the same DHCP address), gone 2 s after the last task
                "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=2s",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(data_dir, "cp"),
            },
            timeout=job.timeout_s,
            suppress_env_files=True,
            quiet=True,
            event_handler=lambda event: _echo(target.name, event),
        )
        if runner.status != "successful" or runner.rc != 0:
            raise AnsibleError(f"ansible {job.playbook} on {target.name} {runner.status} (rc {runner.rc}): "
                               f"{_failure_message(runner)}")


def _echo(host: str, event: dict[str, Any]) -> bool:
    """Streams task results to stderr, which the Pulumi CLI shows; never the task data itself."""
    kind = event.get("event", "")
    data = event.get("event_data", {})
    if kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped"):
        changed = " (changed)" if data.get("res", {}).get("changed") else ""
        print(f"[{host}] ansible {kind.removeprefix('runner_on_')}: {data.get('task')}{changed}",
              file=sys.stderr, flush=True)
    return True
