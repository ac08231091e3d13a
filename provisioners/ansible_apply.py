"""Applies an Ansible playbook to exactly the given hosts through ansible-runner.

Each run gets its own private data dir (inventory, key, known_hosts), deleted afterwards; every SSH
host key is pinned from the bootstrap (read over the trusted LXD channel), so there is no
trust-on-first-use and no shared known_hosts to go stale when addresses are reused. A run over
several hosts (ansible_batch) reports each host's own outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster.private_dirs import private_dir

log = logging.getLogger(__name__)

PLAYBOOK_TIMEOUT_S = 900
# Mitogen keeps one Python interpreter per host for the whole run instead of starting one per task:
# measured on the lab, 15 module runs on 2 hosts took 4.3-5.2 s instead of 10.4-12.8 s. `linear` (Ansible's
# own) is the fallback: LXDHA_ANSIBLE_STRATEGY=linear.
STRATEGY_ENV = "LXDHA_ANSIBLE_STRATEGY"
DEFAULT_STRATEGY = "mitogen_linear"
CONTENT_SUFFIXES = (".yml", ".yaml", ".j2", ".cfg", ".conf", ".sh", ".py", ".txt")
NO_REPORT = "ansible reported nothing for this host"  # a host the run's result does not mention


class AnsibleError(RuntimeError):
    """The playbook failed on the host; carries the failing task's message."""


def raise_for_host(outcomes: dict[str, str | None], name: str) -> None:
    """Raises AnsibleError with `name`'s own failure from a run's outcomes (None: it succeeded)."""
    error = outcomes.get(name, NO_REPORT)
    if error:
        raise AnsibleError(error)


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


def inventory_for(targets: list[AnsibleTarget], key_path: str, known_hosts_path: str) -> dict[str, Any]:
    """An inventory of exactly these hosts: the run cannot touch any other."""
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
                for target in targets
            }
        }
    }


def _write_private(path: str, content: str) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")


def host_outcomes(events: list[dict[str, Any]], hosts: list[str], succeeded: bool,
                  summary: str) -> dict[str, str | None]:
    """Each host's error (None: it converged). A host failed if the run's stats count a failure or an
    unreachable for it (a failure its role rescued is not one); its message is its last failed task.
    A run that failed with no host to blame (syntax error, timeout) fails every host with `summary`."""
    last_failure: dict[str, str] = {}
    failed: set[str] = set()
    for event in events:
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            result = data.get("res", {})
            message = _failure_message(result)
            last_failure[data.get("host")] = f"task '{data.get('task')}' on {data.get('host')}: {message}"
        elif event.get("event") == "playbook_on_stats":
            failed |= {host for kind in ("failures", "dark") for host, count in (data.get(kind) or {}).items() if count}
    if not failed and not succeeded:
        return dict.fromkeys(hosts, summary)
    return {host: (last_failure.get(host, summary) if host in failed else None) for host in hosts}


def _failure_message(result: dict[str, Any]) -> str:
    """A failed task's message, with the last lines of its command's output when it has both (e.g. why
    `haproxy -c` refused a configuration: "failed to validate" alone does not say)."""
    message = str(result.get("msg") or "")
    output = str(result.get("stderr") or result.get("stdout") or "").strip()
    detail = " | ".join(line.strip() for line in output.splitlines()[-3:])
    if message and detail:
        return f"{message}: {detail}"[:1000]
    return message or detail or str(result)[:500]


def run_playbook(targets: list[AnsibleTarget], job: AnsibleJob) -> dict[str, str | None]:
    """Runs the playbook limited to `targets` in a child process; returns each host's error (None: ok).

    Why a child: ansible-runner forks and installs signal handlers, which is unsafe inside the
    dynamic provider's multi-threaded gRPC server (parallel applies failed with rc None there).
    The private key travels on stdin, never in argv or the environment.
    """
    names = [target.name for target in targets]
    request = {"targets": [asdict(target) for target in targets], "job": asdict(job)}
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    try:
        result = subprocess.run([sys.executable, "-m", "provisioners.ansible_job"], input=json.dumps(request),
                                stdout=subprocess.PIPE, stderr=None, text=True, env=env,
                                timeout=job.timeout_s + 60, check=False)
    except subprocess.TimeoutExpired:
        return dict.fromkeys(names, f"ansible {job.playbook} on {', '.join(names)} timed out after {job.timeout_s}s")
    lines = result.stdout.strip().splitlines()
    outcome = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {
        "error": f"ansible runner exited {result.returncode} without a result: {result.stdout[-2000:]}"}
    if outcome.get("error"):
        return dict.fromkeys(names, outcome["error"])
    return {name: outcome["hosts"].get(name, NO_REPORT) for name in names}


def strategy_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """ANSIBLE_* settings for the run's strategy: Mitogen's plugins by default, Ansible's own on request."""
    strategy = (environ if environ is not None else os.environ).get(STRATEGY_ENV, DEFAULT_STRATEGY)
    if not strategy.startswith("mitogen"):
        return {"ANSIBLE_STRATEGY": strategy}
    import ansible_mitogen  # imported here: only the child that runs Ansible needs it

    plugins = Path(ansible_mitogen.__file__).resolve().parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY": strategy, "ANSIBLE_STRATEGY_PLUGINS": str(plugins)}


def run_playbook_here(targets: list[AnsibleTarget], job: AnsibleJob) -> dict[str, str | None]:
    """The in-process ansible-runner call; only ever run inside the single-threaded child."""
    import ansible_runner  # imported here: heavy, and only needed at apply time

    if len({(target.private_key_pem, target.user) for target in targets}) != 1:
        raise ValueError("one run logs in to every host with the same key and user")
    with private_dir("lxdha-ansible-") as data_dir:
        key_path = os.path.join(data_dir, "id_key")
        known_hosts = os.path.join(data_dir, "known_hosts")
        _write_private(key_path, targets[0].private_key_pem)
        _write_private(known_hosts, "\n".join(f"{target.address} {target.host_key}" for target in targets))
        inventory_dir = Path(data_dir, "inventory")
        inventory_dir.mkdir()
        (inventory_dir / "hosts.yml").write_text(yaml.safe_dump(inventory_for(targets, key_path, known_hosts)))
        # extra vars hold secrets: a 0600 file in the private dir, never the command line (ps shows it)
        vars_path = os.path.join(data_dir, "extra_vars.json")
        _write_private(vars_path, json.dumps(job.extra_vars))
        runner = ansible_runner.run(
            private_data_dir=data_dir,
            project_dir=job.project_dir,
            playbook=job.playbook,
            inventory=str(inventory_dir),
            limit=",".join(target.name for target in targets),
            forks=len(targets),  # every host at once (the default, 5, would queue a batch's hosts)
            cmdline=f"-e @{vars_path}",
            envvars={
                "ANSIBLE_ROLES_PATH": os.path.join(job.project_dir, "roles"),
                "ANSIBLE_HOST_KEY_CHECKING": "True",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "True",
                "ANSIBLE_PIPELINING": "True",
                # one SSH connection per host and run, its socket inside this run's private dir (never shared
                # with a later host that gets the same DHCP address), gone 2 s after the last task
                "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=2s",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(data_dir, "cp"),
                **strategy_settings(),
            },
            timeout=job.timeout_s,
            suppress_env_files=True,
            quiet=True,
            event_handler=_echo,
        )
        succeeded = runner.status == "successful" and runner.rc == 0
        summary = (f"ansible {job.playbook} {runner.status} (rc {runner.rc}): "
                   + (runner.stdout.read()[-2000:] if runner.stdout else "no output"))
        return host_outcomes(list(runner.events), [target.name for target in targets], succeeded, summary)


def _echo(event: dict[str, Any]) -> bool:
    """Streams task results to stderr, which the Pulumi CLI shows; never the task data itself."""
    kind = event.get("event", "")
    data = event.get("event_data", {})
    if kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped"):
        changed = " (changed)" if data.get("res", {}).get("changed") else ""
        log.info("[%s] ansible %s: %s%s", data.get("host"), kind.removeprefix("runner_on_"), data.get("task"), changed)
    return True
