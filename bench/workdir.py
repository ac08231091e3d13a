"""Per-run scratch dir for the baselines: bootstrap script, static Ansible inventory, logs.

The seed's `ansible-playbook --limit` needs the host in an inventory that exists beforehand, so
the inventory lists every container of the run before the first one is launched.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.bootstrap_script import mirror_from_lab, render
from bench.lab_access import BenchSite
from bench.spread import bench_names

SSH_ARGS = "-o ControlMaster=no -o ControlPath=none -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10"


def mac_for(name: str) -> str:
    """A fixed MAC per name: re-created containers reuse their DHCP lease instead of draining the pool."""
    digest = hashlib.sha256(f"lxdha-bench/{name}".encode()).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


@dataclass(frozen=True)
class RunDir:
    path: Path
    names: list[str]

    @classmethod
    def create(cls, site: BenchSite, prefix: str, count: int, parent: Path | None = None) -> RunDir:
        path = Path(tempfile.mkdtemp(prefix=f"lxdha-bench-{prefix}-", dir=parent))
        names = bench_names(prefix, count)
        (path / "bootstrap.sh").write_text(render(mirror_from_lab(site.data), site.public_key_file))
        (path / "logs").mkdir()
        (path / "ansible-tmp").mkdir()
        (path / "inventory" / "host_vars").mkdir(parents=True)
        inventory = {"all": {
            "hosts": {name: None for name in names},
            "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(site.private_key_file),
                     "ansible_python_interpreter": "/usr/bin/python3"},
        }}
        (path / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        return cls(path, names)

    def ansible_env(self, base: dict[str, str], site: BenchSite) -> dict[str, str]:
        env = dict(base)
        env.update({
            "ANSIBLE_ROLES_PATH": str(site.ansible_dir / "roles"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_SSH_ARGS": SSH_ARGS,  # no ControlPersist: no ssh processes outlive a run
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_LOCAL_TEMP": str(self.path / "ansible-tmp"),
            "ANSIBLE_HOME": str(self.path / "ansible-home"),
        })
        env["PATH"] = os.pathsep.join([str(Path(site.ansible_dir).parent / ".venv" / "bin"), env.get("PATH", "")])
        return env
