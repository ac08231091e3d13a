"""Names, addresses and paths of the lab, derived from a few settings (members, lab dir, cache).

Every other module asks this one where things are, so a name or address is defined only here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from lab.backend import BACKENDS, Backend, backend_named
from lab.backend import DEFAULT as DEFAULT_BACKEND

PREFIX = "lxdha"
DEFAULT_LAB_DIR = Path("/var/lib/lxdha-lab")
DEFAULT_MEMBERS = 3
MAX_MEMBERS = 9  # member addresses .11-.19; .20 is the image remote
SUBNET = ipaddress.IPv4Network("10.91.0.0/24")
API_PORT = 8443
S3_PORT = 9000
S3_TLS_PORT = 9443  # the same S3, through a TLS front (pgBackRest 2.45 speaks only HTTPS to S3)
DHCP_RANGE = ("10.91.0.100", "10.91.0.199")
DHCP_LEASE = "10m"  # short: every test container has a new MAC, the pool must recycle quickly
VIP_RANGE = ("10.91.0.240", "10.91.0.250")
STORAGE_DRIVERS = ("btrfs", "dir")  # the members' `default` pool; see lab/storage.py
DEFAULT_STORAGE = "btrfs"
MIRROR_BUCKET = "debian"
REGISTRY_BUCKET = "registry"
BACKUP_BUCKET = "pgbackrest"
MIRROR_SUITE = "bookworm"
IMAGE_ALIASES = ("debian/bookworm", "debian/12")
# Pinned MinIO: the only version the Go module proxy offers here.
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"


def host_address(last_octet: int) -> str:
    return str(SUBNET.network_address + last_octet)


class OnSegment:
    """Anything with its own netns on the lab segment: both names derive from its `name`."""

    name: str

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def host_veth(self) -> str:
        return f"{PREFIX}-{self.name}"


@dataclass(frozen=True)
class Member(OnSegment):
    """One LXD cluster member: its own netns, LXD_DIR and address."""

    index: int
    lab_dir: Path

    @property
    def name(self) -> str:
        return f"m{self.index}"

    @property
    def address(self) -> str:
        return host_address(10 + self.index)

    @property
    def lxd_dir(self) -> Path:
        return self.lab_dir / "members" / self.name


@dataclass(frozen=True)
class Node(OnSegment):
    """A single-purpose namespace on the lab segment (load balancer, image remote, site host)."""

    name: str
    address: str


@dataclass(frozen=True)
class LabConfig:
    lab_dir: Path = DEFAULT_LAB_DIR
    cache_dir: Path = Path.home() / ".cache" / "lxdha"
    member_count: int = DEFAULT_MEMBERS
    storage_driver: str = DEFAULT_STORAGE
    backend: str = DEFAULT_BACKEND  # the server the members run (lab/backend.py)

    def __post_init__(self) -> None:
        if not 1 <= self.member_count <= MAX_MEMBERS:
            raise ValueError(f"members must be 1..{MAX_MEMBERS}, got {self.member_count}")
        if self.storage_driver not in STORAGE_DRIVERS:
            raise ValueError(f"LAB_STORAGE must be one of {', '.join(STORAGE_DRIVERS)}, got {self.storage_driver!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"LAB_BACKEND must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        resolved = str(self.lab_dir.resolve()) if self.lab_dir.exists() else str(self.lab_dir)
        if resolved in ("/", "/var/lib", "/var/lib/lxd") or resolved.startswith("/var/lib/lxd/"):
            raise ValueError(f"refusing lab dir {resolved}: it is not the lab's own")

    @classmethod
    def from_env(cls, members: int | None = None) -> LabConfig:
        count = members if members is not None else int(os.environ.get("LAB_MEMBERS", DEFAULT_MEMBERS))
        lab_dir = Path(os.environ.get("LAB_DIR", DEFAULT_LAB_DIR))
        cache = Path(os.environ.get("LAB_CACHE", Path.home() / ".cache" / "lxdha"))
        storage = os.environ.get("LAB_STORAGE", DEFAULT_STORAGE)
        backend = os.environ.get("LAB_BACKEND", DEFAULT_BACKEND)
        return cls(lab_dir=lab_dir, cache_dir=cache, member_count=count, storage_driver=storage, backend=backend)

    @classmethod
    def resolve(cls, members: int | None = None) -> LabConfig:
        """Members: the argument, else LAB_MEMBERS, else the running lab's count, else the default.
        Storage: LAB_STORAGE, else the running lab's driver, else the default; the backend likewise."""
        config = cls.from_env(members=members)
        try:
            state = json.loads(config.state_path.read_text())
        except (OSError, ValueError):
            return config
        if members is None and "LAB_MEMBERS" not in os.environ and isinstance(state.get("members"), int):
            config = dataclasses.replace(config, member_count=state["members"])
        if "LAB_STORAGE" not in os.environ:
            config = dataclasses.replace(config, storage_driver=state.get("storage", "dir"))
        if "LAB_BACKEND" not in os.environ:
            config = dataclasses.replace(config, backend=state.get("backend", DEFAULT_BACKEND))
        return config

    @property
    def server(self) -> Backend:
        return backend_named(self.backend)

    # --- network ---------------------------------------------------------------------------
    bridge: str = f"{PREFIX}0"
    gateway: str = host_address(1)
    prefix_len: int = SUBNET.prefixlen
    lb: Node = Node("lb", host_address(10))
    image_remote: Node = Node("img", host_address(20))
    site: Node = Node("site", host_address(30))

    @property
    def members(self) -> list[Member]:
        return [Member(i, self.lab_dir) for i in range(1, self.member_count + 1)]

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(f"no member {name!r} (members: {', '.join(m.name for m in self.members)})")

    # --- paths ------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.lab_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.lab_dir / "logs"

    @property
    def secrets_dir(self) -> Path:
        return self.lab_dir / "secrets"

    @property
    def pki_dir(self) -> Path:
        return self.lab_dir / "pki"

    @property
    def image_remote_dir(self) -> Path:
        return self.lab_dir / "image-remote"

    @property
    def lb_dir(self) -> Path:
        return self.lab_dir / "lb"

    @property
    def site_dir(self) -> Path:
        return self.lab_dir / "site"

    @property
    def dhcp_dir(self) -> Path:
        return self.lab_dir / "dhcp"

    @property
    def info_path(self) -> Path:
        return self.lab_dir / "lab.json"

    @property
    def state_path(self) -> Path:
        return self.lab_dir / "state.json"

    @property
    def lb_url(self) -> str:
        return f"https://{self.lb.address}:{API_PORT}"

    @property
    def image_remote_url(self) -> str:
        return f"https://{self.image_remote.address}:{API_PORT}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.site.address}:{S3_PORT}"

    @property
    def s3_tls_endpoint(self) -> str:
        return f"https://{self.site.address}:{S3_TLS_PORT}"

    @property
    def mirror_url(self) -> str:
        return f"{self.s3_endpoint}/{MIRROR_BUCKET}"

    @property
    def netns_names(self) -> list[str]:
        return [m.netns for m in self.members] + [n.netns for n in (self.lb, self.image_remote, self.site)]


def in_dhcp_range(address: str) -> bool:
    low, high = (ipaddress.IPv4Address(a) for a in DHCP_RANGE)
    return low <= ipaddress.IPv4Address(address) <= high
