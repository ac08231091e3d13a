"""Balanced containers' settings: the stack's plain containers (`lxdha:containers`, each configured by one
playbook) and one container declared as a component (its name, group, pinned member, data volumes and
playbook), read by the same rules.

Validated before anything is created, so a typo fails `pulumi preview` naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.names import instance_name_problem
from config.checks import absolute_path_problem, check_known_keys
from config.section import Section, section_of

KEY = "lxdha:containers"
KNOWN = ("count", "prefix", "group", "member", "ansibleDir", "playbook")
CONTAINER_KNOWN = ("name", "group", "member", "groupSize", "allowGroupOvercommit", "replaceOnImageChange", "volumes",
                   "playbook")
PLAYBOOK_KNOWN = ("playbook", "ansibleDir", "rollingGroup")
VOLUME_KNOWN = ("suffix", "path", "pool", "size")
MAX_CONTAINERS = 200
MAX_GROUP = 200
DEFAULT_ANSIBLE_DIR = Path(__file__).resolve().parent.parent / "ansible"
SIZE = re.compile(r"^[1-9][0-9]*(MiB|GiB|TiB|MB|GB|TB)$")  # a size as LXD takes it for a volume


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


@dataclass(frozen=True)
class DataVolume:
    """A custom LXD volume of the container's own, on the member the container is placed on, attached at
    `path`: a replaced container gets the same volume back, so its data outlives it."""

    suffix: str  # the volume is named <container>-<suffix>
    pool: str
    size: str
    path: str


@dataclass(frozen=True)
class PlaybookSettings:
    ansible_dir: str
    playbook: str
    rolling_group: str | None = None  # containers of one group: set up together, updated one at a time


@dataclass(frozen=True)
class ContainerSettings:
    """One balanced container declared as a component."""

    name: str
    group: str | None
    member: str | None
    group_size: int
    allow_group_overcommit: bool
    replace_on_image_change: bool
    volumes: tuple[DataVolume, ...]
    playbook: PlaybookSettings | None


def ansible_dir(section: Section, *playbooks: str) -> str:
    """`<key>.ansibleDir` (default: the project's ansible/), which must hold each of `playbooks`."""
    directory = Path(str(section.raw.get("ansibleDir", DEFAULT_ANSIBLE_DIR))).expanduser().resolve()
    for playbook in playbooks:
        if not (directory / playbook).is_file():
            raise section.fail("ansibleDir", f"{directory} has no {playbook}",
                               "point it at a copy of the project's ansible/")
    return str(directory)


def _playbook(section: Section) -> tuple[str, str]:
    """(ansible dir, playbook): a playbook inside the section's ansibleDir, where Ansible runs with its roles/."""
    playbook = str(section.raw.get("playbook", "base.yml"))
    if Path(playbook).is_absolute() or ".." in Path(playbook).parts:
        raise section.fail("playbook", f"{playbook!r} is not a path inside ansibleDir",
                           "name it relative to ansibleDir, e.g. base.yml: Ansible runs there, with its roles/")
    directory = ansible_dir(section)
    if not (Path(directory) / playbook).is_file():
        raise section.fail("playbook", f"{Path(directory) / playbook} does not exist",
                           "name a playbook inside ansibleDir (default: the project's ansible/)")
    return directory, playbook


def _name(section: Section, field: str, what: str, fix: str, value: Any = None) -> str | None:
    value = section.raw.get(field) if value is None else value
    if value is not None and instance_name_problem(str(value)):
        raise section.fail(field, f"{value!r} is not a valid {what}", fix)
    return str(value) if value is not None else None


def containers_settings(raw: dict[str, Any] | None) -> ContainersSettings:
    raw = raw or {}
    check_known_keys(raw, KNOWN, KEY)
    containers = Section(raw, KEY)
    count = containers.whole("count", 0, 0, MAX_CONTAINERS, "set a container count, e.g. 3")
    prefix = str(raw.get("prefix", "app"))
    problem = instance_name_problem(f"{prefix}-{max(count - 1, 0)}")
    if problem:
        raise containers.fail("prefix", problem, "use a short prefix of letters, digits and '-'")
    group = _name(containers, "group", "group name", "use letters, digits and '-' (it is stored as LXD config "
                  "user.lxdha.group)")
    directory, playbook = _playbook(containers)
    member = _name(containers, "member", "member name", "name a cluster member, e.g. m1")
    return ContainersSettings(count, prefix, group, directory, playbook, member)


def _volume(container: Section, index: int, entry: Any) -> DataVolume:
    volume = section_of(entry, f"{container.at('volumes')}[{index}]", VOLUME_KNOWN,
                        "write it as {suffix, path, pool, size}")
    suffix = volume.text("suffix")
    _name(volume, "suffix", "volume name suffix", "use letters, digits and '-'", value=f"x-{suffix}")
    path = volume.text("path")
    if absolute_path_problem(path):
        raise volume.fail("path", absolute_path_problem(path) or "", "give where it is mounted, e.g. /var/lib/data")
    pool = _name(volume, "pool", "storage pool name", "name an LXD storage pool, e.g. default",
                 value=volume.raw.get("pool", "default"))
    size = volume.text("size")
    if not SIZE.match(size):
        raise volume.fail("size", f"{size[:20]!r} is not a size LXD takes", "write it like 4GiB or 500GB")
    return DataVolume(suffix, str(pool), size, path)


def container_settings(raw: Any, key: str) -> ContainerSettings:
    """One container's settings from the section at `key` (a component's inputs), or a ConfigError naming
    the bad key."""
    container = section_of(raw, key, CONTAINER_KNOWN, "see docs/components.md (BalancedContainer)")
    name = container.text("name")
    if instance_name_problem(name):
        raise container.fail("name", instance_name_problem(name) or "", "use letters, digits and '-'")
    group = _name(container, "group", "group name", "use letters, digits and '-' (it is stored as LXD config "
                  "user.lxdha.group)")
    member = _name(container, "member", "member name", "name a cluster member, e.g. m1")
    entries = raw.get("volumes") or []
    if not isinstance(entries, list):
        raise container.fail("volumes", "is not a list", "list the volumes as [{suffix, path, pool, size}]")
    volumes = tuple(_volume(container, index, entry) for index, entry in enumerate(entries))
    if len({volume.suffix for volume in volumes}) < len(volumes):
        raise container.fail("volumes", "two volumes share a suffix (and so a name)", "give each its own suffix")
    group_size = container.whole("groupSize", 0, 0, MAX_GROUP, "give how many containers the group will have")
    if group_size and not group:
        raise container.fail("groupSize", "is set without a group", "set group, or drop groupSize")
    playbook = None
    if raw.get("playbook") is not None:
        section = container.child("playbook", PLAYBOOK_KNOWN)
        rolling = _name(section, "rollingGroup", "rolling group name", "use letters, digits and '-'")
        playbook = PlaybookSettings(*_playbook(section), rolling)
    return ContainerSettings(name, group, member, group_size, container.flag("allowGroupOvercommit", False),
                             container.flag("replaceOnImageChange", False), volumes, playbook)
