"""What a client needs to use the lab, as one stable JSON document (lab.json, `lab env --json`)
and as a `LabInfo` object for Python callers (tests). The schema is documented in lab/README.md;
secrets are never in it, only the paths of the 0600 files that hold them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pylxd

from cluster.connection import SHARED, LxdEndpoint
from cluster.images import ImageSource
from lab.alpine import ALIASES as ALPINE_ALIASES
from lab.alpine import PROFILE as ALPINE_PROFILE
from lab.config import (
    API_PORT,
    BACKUP_BUCKET,
    DHCP_LEASE,
    DHCP_RANGE,
    IMAGE_ALIASES,
    MIRROR_BUCKET,
    MIRROR_SUITE,
    REGISTRY_BUCKET,
    SUBNET,
    VIP_RANGE,
    LabConfig,
)
from lab.files import write_public
from lab.pki import fingerprint

SCHEMA_VERSION = 1


def build_info(config: LabConfig, *, cluster_cert_pem: str, image_remote_cert_pem: str, image_fingerprint: str,
               mirror_key_fingerprint: str, mirror_packages: list[str],
               alpine_fingerprint: str | None = None) -> dict[str, Any]:
    pki, sec = config.pki_dir, config.secrets_dir
    return {
        "schema": SCHEMA_VERSION,
        "lab_dir": str(config.lab_dir),
        "network": {
            "bridge": config.bridge, "subnet": str(SUBNET), "prefix_len": config.prefix_len,
            "gateway": config.gateway, "dhcp_range": list(DHCP_RANGE), "dhcp_lease": DHCP_LEASE,
            "vip_range": list(VIP_RANGE), "instance_nic_parent": "br0",
        },
        "lxd": {
            "server": config.backend,  # lxd or incus (lab/backend.py)
            "url": config.lb_url,
            "server_cert": str(pki / "cluster.crt"),
            "server_cert_pem": cluster_cert_pem,
            "server_fingerprint": fingerprint(cluster_cert_pem),
            "client_cert": str(pki / "client.crt"),
            "client_key": str(sec / "client.key"),
            # LXD's core.trust_password; Incus has none (lab.cluster.issue_trust_token)
            "trust_password_file": str(sec / "trust-password") if config.server.trust_password else None,
            "storage_pool": "default",
            "storage_driver": config.storage_driver,
            "profile": "default",
            "members": [{"name": m.name, "address": m.address, "url": f"https://{m.address}:{API_PORT}",
                         "lxd_dir": str(m.lxd_dir)} for m in config.members],
        },
        "load_balancer": {"address": config.lb.address, "port": API_PORT, "balance": "first",
                          "stats_socket": str(config.lb_dir / "haproxy.sock")},
        "image_remote": {
            "url": config.image_remote_url, "protocol": "lxd",
            "cert": str(pki / "image-remote.crt"), "cert_pem": image_remote_cert_pem,
            "cert_fingerprint": fingerprint(image_remote_cert_pem),
            "alias": IMAGE_ALIASES[0], "aliases": list(IMAGE_ALIASES), "image_fingerprint": image_fingerprint,
            # boots and gets DHCP; its packages cannot be installed here (no Alpine repository)
            "alpine": None if alpine_fingerprint is None else {
                "alias": ALPINE_ALIASES[0], "aliases": list(ALPINE_ALIASES), "image_fingerprint": alpine_fingerprint,
                "profile": ALPINE_PROFILE},
        },
        "s3": {
            "endpoint": config.s3_endpoint, "region": "us-east-1",
            "tls_endpoint": config.s3_tls_endpoint, "tls_ca_cert": str(pki / "s3-tls.crt"),
            "access_key_file": str(sec / "s3-access-key"), "secret_key_file": str(sec / "s3-secret-key"),
            "buckets": {"mirror": MIRROR_BUCKET, "registry": REGISTRY_BUCKET, "backup": BACKUP_BUCKET},
        },
        "mirror": {
            "url": config.mirror_url, "suite": MIRROR_SUITE, "components": ["main"],
            "key_armored": str(pki / "mirror-key.asc"), "key_binary": str(pki / "mirror-key.gpg"),
            "key_fingerprint": mirror_key_fingerprint, "packages": mirror_packages,
            "sources_line": f"deb [signed-by=/etc/apt/keyrings/lxdha-mirror.gpg] {config.mirror_url} "
                            f"{MIRROR_SUITE} main",
        },
    }


def write_info(config: LabConfig, info: dict[str, Any]) -> None:
    write_public(config.info_path, json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_info(config: LabConfig) -> dict[str, Any] | None:
    try:
        return json.loads(config.info_path.read_text())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class LabInfo:
    """lab.json for Python callers, with the connections tests need."""

    config: LabConfig
    initial: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """lab.json as it is now: a later down/up issues new certificates and keys, and a session-
        long holder of this object must see them (falls back to the data it was built with)."""
        current = read_info(self.config)
        if current is None and self.initial is None:
            raise FileNotFoundError(f"{self.config.info_path} does not exist: the lab is not up")
        return current if current is not None else self.initial  # type: ignore[return-value]

    @property
    def lb_url(self) -> str:
        return self.data["lxd"]["url"]

    @property
    def server_cert(self) -> Path:
        return Path(self.data["lxd"]["server_cert"])

    @property
    def client_cert(self) -> Path:
        return Path(self.data["lxd"]["client_cert"])

    @property
    def client_key(self) -> Path:
        return Path(self.data["lxd"]["client_key"])

    @property
    def member_names(self) -> list[str]:
        return [m["name"] for m in self.data["lxd"]["members"]]

    def image(self, alias: str | None = None) -> ImageSource:
        """The lab's image on its image remote (the Debian image, or another alias there)."""
        remote = self.data["image_remote"]
        return ImageSource(remote["url"], remote["protocol"], alias or remote["alias"], remote["cert_pem"])

    def endpoint(self, url: str | None = None) -> LxdEndpoint:
        """The cluster through the load balancer (or `url`, e.g. one member), its certificate pinned."""
        lxd = self.data["lxd"]
        return LxdEndpoint(url or lxd["url"], lxd["server_fingerprint"], self.client_cert.read_text(),
                           self.client_key.read_text())

    def lxd_client(self, url: str | None = None) -> pylxd.Client:
        """A client of the cluster, the way the providers and operations connect (cluster/connection.py),
        kept for the life of the process."""
        return SHARED.client(self.endpoint(url))

    def member_url(self, name: str) -> str:
        return next(m["url"] for m in self.data["lxd"]["members"] if m["name"] == name)

    def s3_client(self):  # noqa: ANN201
        from lab.site import s3_client
        return s3_client(self.config)

    def as_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True)
