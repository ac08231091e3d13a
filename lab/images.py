"""The Debian bookworm container image, built locally (no image server is reachable here) and
served from the lab's image remote — an extra, standalone LXD daemon with a PUBLIC image — so
clients copy it "from a remote" exactly as they would in production.

The built tarball is cached by a hash of its recipe, so a warm `lab up` never runs debootstrap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pylxd
import yaml

from cluster.operations import get_or_none, send_and_wait
from cluster.server_family import server_family
from lab.config import API_PORT, IMAGE_ALIASES, LabConfig
from lab.members import daemon_client, ensure_holder, start_until_ready
from lab.pki import ensure_pair, presented_certificate
from lab.proc import LabError, ProcessTable, run

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_S = 300

RECIPE_VERSION = "2"  # bump when the rootfs customisation below changes
SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
INCLUDE = ("systemd-sysv", "dbus", "iproute2", "iputils-ping", "netbase", "udev")
NETWORKD_ETH0 = "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nUseDNS=yes\n"
HOSTNAME_TPL = "{{ container.name }}\n"
HOSTS_TPL = ("127.0.0.1\tlocalhost\n127.0.1.1\t{{ container.name }}\n"
             "::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
REMOTE_NAME = "img"


@dataclass(frozen=True)
class BuiltImage:
    """A cached image: the unified LXD tarball, its LXD fingerprint, and the rootfs' dpkg status
    (the package mirror is computed against it)."""

    tarball: Path
    fingerprint: str
    dpkg_status: Path


def recipe_hash() -> str:
    recipe = json.dumps({"v": RECIPE_VERSION, "suite": SUITE, "mirror": DEBIAN_MIRROR, "include": INCLUDE,
                         "networkd": NETWORKD_ETH0, "hostname": HOSTNAME_TPL, "hosts": HOSTS_TPL},
                        sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def image_cache_dir(config: LabConfig) -> Path:
    return config.cache_dir / "images" / f"debian-{SUITE}-{recipe_hash()}"


def cached_image(config: LabConfig) -> BuiltImage | None:
    folder = image_cache_dir(config)
    try:
        meta = json.loads((folder / "image.json").read_text())
    except (OSError, ValueError):
        return None
    image = BuiltImage(folder / "image.tar.gz", meta["fingerprint"], folder / "dpkg-status")
    return image if image.tarball.exists() and image.dpkg_status.exists() else None


def _metadata_yaml() -> str:
    return yaml.safe_dump({
        "architecture": "x86_64",
        "creation_date": int(time.time()),
        "properties": {"os": "debian", "release": SUITE, "architecture": "amd64", "variant": "minbase",
                       "description": f"Debian {SUITE} amd64 minbase+systemd (lxdha lab build)"},
        "templates": {
            "/etc/hostname": {"when": ["create", "copy"], "template": "hostname.tpl"},
            "/etc/hosts": {"when": ["create", "copy"], "template": "hosts.tpl"},
        },
    })


def _customise_rootfs(rootfs: Path) -> None:
    """DHCP on eth0 via systemd-networkd; a fresh machine-id per container (else every container
    would send the same DHCP client id and get the same lease); no package caches."""
    (rootfs / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/systemd/network/eth0.network").write_text(NETWORKD_ETH0)
    run(["chroot", str(rootfs), "systemctl", "enable", "systemd-networkd.service"], timeout=60)
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (rootfs / "etc/hostname").write_text("debian\n")
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"):
        for path in rootfs.glob(pattern):
            path.unlink()
    for log in (rootfs / "var/log").rglob("*.log"):
        log.write_text("")


def build_image(config: LabConfig) -> BuiltImage:
    """debootstrap + pack as a unified LXD image tarball; cached by recipe hash."""
    existing = cached_image(config)
    if existing:
        return existing
    folder = image_cache_dir(config)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=folder.parent) as tmp:
        work = Path(tmp)
        rootfs = work / "rootfs"
        log.info(f"debootstrap {SUITE} (minbase + {','.join(INCLUDE)}) from {DEBIAN_MIRROR}; takes a minute")
        # private mount namespace: the /proc and /sys debootstrap mounts in the target die with it,
        # even when the build is interrupted
        run(["unshare", "--mount", "--propagation", "private", "--", "debootstrap", "--variant=minbase",
             f"--include={','.join(INCLUDE)}", SUITE, str(rootfs), DEBIAN_MIRROR], timeout=1800)
        _customise_rootfs(rootfs)
        (work / "metadata.yaml").write_text(_metadata_yaml())
        (work / "templates").mkdir()
        (work / "templates/hostname.tpl").write_text(HOSTNAME_TPL)
        (work / "templates/hosts.tpl").write_text(HOSTS_TPL)
        staging = work / "out"
        staging.mkdir()
        shutil.copy(rootfs / "var/lib/dpkg/status", staging / "dpkg-status")
        compressor = "pigz" if shutil.which("pigz") else "gzip"
        run(["tar", "--numeric-owner", "--xattrs", "-I", compressor, "-cf", str(staging / "image.tar.gz"),
             "-C", str(work), "metadata.yaml", "templates", "rootfs"], timeout=900)
        digest = hashlib.sha256()
        with open(staging / "image.tar.gz", "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        (staging / "image.json").write_text(json.dumps({"fingerprint": digest.hexdigest(), "suite": SUITE,
                                                        "recipe": recipe_hash()}))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    image = cached_image(config)
    assert image is not None
    return image


# --- the image remote ---------------------------------------------------------------------------

def remote_cert_paths(config: LabConfig) -> tuple[Path, Path]:
    lxd_dir = config.image_remote_dir
    return lxd_dir / "server.crt", lxd_dir / "server.key"


def ensure_image_remote(config: LabConfig, table: ProcessTable, image: BuiltImage,
                        extra: tuple[tuple[BuiltImage, tuple[str, ...]], ...] = ()) -> str:
    """Starts the image remote and publishes the image under its aliases (and any `extra` images
    under theirs); returns the remote's certificate PEM."""
    lxd_dir = config.image_remote_dir
    lxd_dir.mkdir(parents=True, exist_ok=True)
    lxd_dir.chmod(0o711)
    node = config.image_remote
    # issued before the first start: a standalone LXD serves server.crt, and ours names the address
    ensure_pair(*remote_cert_paths(config), "lxdha-image-remote", ips=[node.address, "127.0.0.1"])
    ensure_holder(table, REMOTE_NAME, node.netns, lxd_dir)
    start_until_ready(table, REMOTE_NAME, lxd_dir, config.server)
    client = daemon_client(lxd_dir)
    if client.host_info["config"].get("core.https_address") != f"{node.address}:{API_PORT}":
        run(config.server.init_argv(), env=config.server.env(lxd_dir), timeout=60, input=yaml.safe_dump(
            {"config": {"core.https_address": f"{node.address}:{API_PORT}", "images.auto_update_interval": "0"}}))
    _publish(client, image, IMAGE_ALIASES)
    for other, aliases in extra:
        _publish(client, other, aliases)
    presented = presented_certificate(node.address, API_PORT)
    config.pki_dir.mkdir(parents=True, exist_ok=True)
    (config.pki_dir / "image-remote.crt").write_text(presented)
    return presented


def _publish(client: pylxd.Client, image: BuiltImage, aliases: tuple[str, ...]) -> None:
    if get_or_none(client.api.images[image.fingerprint]) is None:
        family = server_family(client)  # each family reads these headers in its own spelling only
        headers = {family.header("public"): "true", "Content-Length": str(image.tarball.stat().st_size),
                   family.header("filename"): image.tarball.name, "Content-Type": "application/octet-stream"}
        with open(image.tarball, "rb") as body:
            meta = send_and_wait(client, lambda: client.api.images.post(data=body, headers=headers,
                                                                        timeout=PUBLISH_TIMEOUT_S),
                                 PUBLISH_TIMEOUT_S, f"publish {image.tarball.name}")
        if meta.get("fingerprint") != image.fingerprint:
            raise LabError(f"image remote computed fingerprint {meta.get('fingerprint')}, "
                           f"expected {image.fingerprint}")
    for alias in aliases:
        current = get_or_none(client.api.images.aliases[alias])
        if current is None:
            client.api.images.aliases.post(json={"name": alias, "target": image.fingerprint,
                                                 "description": "lab build"})
        elif current["target"] != image.fingerprint:
            client.api.images.aliases[alias].put(json={"target": image.fingerprint, "description": ""})
