"""`lxdha:containers`: plain balanced containers, each configured by one playbook.

Validated before anything is created, so a typo fails `pulumi preview` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.errors import ConfigError
from cluster.names import instance_name_problem
from config.checks import check_known_keys

KEY = "lxdha:containers"
KNOWN = ("count", "prefix", "group", "member", "ansibleDir", "playbook")
MAX_CONTAINERS = 200
DEFAULT_ANSIBLE_DIR = Path(__file__).resolve().parent.parent / "ansible"


@dataclass(frozen=True)
class ContainersSettings:
    count: int
    prefix: str
    group: str | None
    ansible_dir: str
    playbook: str
    member: str | None = None  # pin every container to this member (checked against the cluster at preview)

    def names(self) -> list[str]:
        return [f"{self.prefix}-{index}" for index in range(self.count)]


def containers_settings(raw: dict[str, Any] | None) -> ContainersSettings:
    raw = raw or {}
    check_known_keys(raw, KNOWN, KEY)
    count = raw.get("count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_CONTAINERS:
        raise ConfigError(f"{KEY}.count", f"{count!r} is not a whole number from 0 to {MAX_CONTAINERS}",
                          "set a container count, e.g. 3")
    prefix = str(raw.get("prefix", "app"))
    problem = instance_name_problem(f"{prefix}-{max(count - 1, 0)}")
    if problem:
        raise ConfigError(f"{KEY}.prefix", problem, "use a short prefix of letters, digits and '-'")
    group = raw.get("group")
    if group is not None and instance_name_problem(str(group)):
        raise ConfigError(f"{KEY}.group", f"{group!r} is not a valid group name",
                          "use letters, digits and '-' (it is stored as LXD config user.lxdha.group)")
    ansible_dir = Path(str(raw.get("ansibleDir", DEFAULT_ANSIBLE_DIR))).expanduser().resolve()
    playbook = str(raw.get("playbook", "base.yml"))
    if Path(playbook).is_absolute() or ".." in Path(playbook).parts:
        raise ConfigError(f"{KEY}.playbook", f"{playbook!r} is not a path inside ansibleDir",
                          "name it relative to ansibleDir, e.g. base.yml: Ansible runs there, with its roles/")
    if not (ansible_dir / playbook).is_file():
        raise ConfigError(f"{KEY}.playbook", f"{ansible_dir / playbook} does not exist",
                          "name a playbook inside ansibleDir (default: the project's ansible/)")
    member = raw.get("member")
    if member is not None and instance_name_problem(str(member)):
        raise ConfigError(f"{KEY}.member", f"{member!r} is not a member name", "name a cluster member, e.g. m1")
    return ContainersSettings(count, prefix, str(group) if group is not None else None, str(ansible_dir), playbook,
                              str(member) if member is not None else None)
