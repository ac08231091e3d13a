"""The lab's Debian package mirror: the .debs the project installs into containers (plus the
dependencies the image lacks), as a signed apt repository (apt-ftparchive + a lab ed25519 key).

The .debs are resolved with the host's apt against the IMAGE's dpkg status, in an isolated apt
state dir, and cached by (package list, image, suites) so a warm `lab up` downloads nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.config import MIRROR_SUITE, LabConfig
from lab.files import write_public
from lab.images import DEBIAN_MIRROR, BuiltImage
from lab.proc import LabError, run

log = logging.getLogger(__name__)

PACKAGES = ("openssh-server", "python3", "keepalived", "docker-registry", "haproxy", "postgresql-15",
            "postgresql-client-15", "patroni", "python3-etcd", "etcd-server", "etcd-client", "pgbackrest")
# Patroni before 3.0.3 can take the leader key back from a new primary when a partition heals (its etcd3
# update_leader wrote the key unconditionally, patroni#2689): measured on the lab, two timelines of the same
# number. bookworm ships 3.0.2, so the mirror serves Debian 13's Patroni and the two pure-Python packages it
# needs newer than bookworm's; everything else stays bookworm's.
NEWER_SUITE = "trixie"
FROM_NEWER_SUITE = ("patroni", "python3-ydiff", "python3-cdiff")
COMPONENT = "main"
ARCH = "amd64"
KEY_UID = "lxdha lab package mirror <mirror@lxdha.invalid>"


@dataclass(frozen=True)
class SignedMirror:
    root: Path           # the repository tree to upload (dists/, pool/)
    key_armored: Path
    key_binary: Path
    key_fingerprint: str


def debs_cache_dir(config: LabConfig, image: BuiltImage) -> Path:
    key = json.dumps({"packages": sorted(PACKAGES), "image": image.fingerprint, "suite": MIRROR_SUITE,
                      "newer": [NEWER_SUITE, *FROM_NEWER_SUITE], "mirror": DEBIAN_MIRROR, "arch": ARCH},
                     sort_keys=True)
    return config.cache_dir / "debs" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _apt_options(work: Path, image: BuiltImage) -> list[str]:
    return ["-o", f"Dir::Etc::sourcelist={work}/sources.list",
            "-o", f"Dir::Etc::sourceparts={work}/empty",
            "-o", f"Dir::Etc::preferencesparts={work}/empty",
            "-o", f"Dir::Etc::preferences={work}/preferences",
            "-o", f"Dir::State={work}/state",
            "-o", f"Dir::State::status={image.dpkg_status}",
            "-o", f"Dir::Cache={work}/cache",
            "-o", "Debug::NoLocking=1",
            "-o", f"APT::Architecture={ARCH}", "-o", f"APT::Architectures={ARCH}",
            "-o", "APT::Install-Recommends=true", "-o", "APT::Get::List-Cleanup=0",
            "-o", "Acquire::Languages=none"]


def ensure_debs(config: LabConfig, image: BuiltImage) -> list[Path]:
    """The .debs to serve: PACKAGES and what they need beyond the image (cached)."""
    folder = debs_cache_dir(config, image)
    if (folder / "done").exists():
        return sorted(folder.glob("*.deb"))
    log.info(f"downloading {', '.join(PACKAGES)} and missing dependencies from {DEBIAN_MIRROR}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="apt-", dir=folder.parent) as tmp:
        work = Path(tmp)
        for sub in ("empty", "state/lists/partial", "cache/archives/partial"):
            (work / sub).mkdir(parents=True)
        (work / "sources.list").write_text("".join(
            f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {DEBIAN_MIRROR} {suite} main\n"
            for suite in (MIRROR_SUITE, NEWER_SUITE)))
        (work / "preferences").write_text(_newer_suite_pins())
        options = _apt_options(work, image)
        run(["apt-get", *options, "-q", "update"], timeout=600)
        run(["apt-get", *options, "-q", "-y", "--download-only", "install", *PACKAGES], timeout=900)
        out = work / "out"
        out.mkdir()
        for deb in (work / "cache/archives").glob("*.deb"):
            shutil.move(str(deb), out / pool_name(deb.name))
        if not any(out.glob("*.deb")):
            raise LabError("apt downloaded no packages for the mirror")
        (out / "done").write_text("\n".join(PACKAGES) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        out.rename(folder)
    return sorted(folder.glob("*.deb"))


def _newer_suite_pins() -> str:
    """apt preferences: NEWER_SUITE only for FROM_NEWER_SUITE, never as an upgrade of anything else."""
    return (f"Package: *\nPin: release n={NEWER_SUITE}\nPin-Priority: 100\n\n"
            f"Package: {' '.join(FROM_NEWER_SUITE)}\nPin: release n={NEWER_SUITE}\nPin-Priority: 990\n")


def pool_name(filename: str) -> str:
    """apt saves `name_1%3a2.0_amd64.deb` for epoch 1; pool files drop the epoch (Debian's own
    convention), which also keeps '%' out of object keys and URLs."""
    return re.sub(r"_\d+%3a", "_", filename)


def _gpg(gnupg: Path, *args: str, input: str | None = None) -> str:
    return run(["gpg", "--homedir", str(gnupg), "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback",
                "--passphrase", "", *args], timeout=60, input=input).stdout


def stop_gpg_agent(gnupg: Path) -> None:
    """gpg leaves an agent running per homedir; the lab ends its own."""
    if gnupg.is_dir():
        run(["gpgconf", "--homedir", str(gnupg), "--kill", "all"], timeout=30, check=False)


def _ensure_key(gnupg: Path) -> str:
    gnupg.mkdir(parents=True, exist_ok=True, mode=0o700)
    gnupg.chmod(0o700)
    listing = _gpg(gnupg, "--with-colons", "--list-secret-keys") if any(gnupg.glob("*.kbx")) else ""
    if "fpr:" not in listing:
        _gpg(gnupg, "--quick-gen-key", KEY_UID, "ed25519", "sign", "never")
        listing = _gpg(gnupg, "--with-colons", "--list-secret-keys")
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def build_signed_mirror(config: LabConfig, debs: list[Path]) -> SignedMirror:
    """pool/ + dists/SUITE/{Release,InRelease,Release.gpg}, signed with the lab key."""
    site = config.site_dir
    root = site / "mirror"
    gnupg = site / "gnupg"
    key_armored = config.pki_dir / "mirror-key.asc"
    key_binary = config.pki_dir / "mirror-key.gpg"
    stamp = root / ".built"
    try:
        fpr = _ensure_key(gnupg)
        if not (stamp.exists() and stamp.read_text() == fpr and key_armored.exists() and key_binary.exists()):
            if root.exists():
                shutil.rmtree(root)
            pool = root / "pool" / COMPONENT
            pool.mkdir(parents=True)
            for deb in debs:
                dest = pool / deb.name
                try:
                    dest.hardlink_to(deb)
                except OSError:
                    shutil.copy(deb, dest)
            binary = root / "dists" / MIRROR_SUITE / COMPONENT / f"binary-{ARCH}"
            binary.mkdir(parents=True)
            packages = run(["apt-ftparchive", "packages", f"pool/{COMPONENT}"], cwd=root, timeout=300).stdout
            (binary / "Packages").write_text(packages)
            with gzip.open(binary / "Packages.gz", "wt") as handle:
                handle.write(packages)
            dist = root / "dists" / MIRROR_SUITE
            release = run(["apt-ftparchive",
                           "-o", "APT::FTPArchive::Release::Origin=lxdha-lab",
                           "-o", "APT::FTPArchive::Release::Label=lxdha-lab",
                           "-o", f"APT::FTPArchive::Release::Suite={MIRROR_SUITE}",
                           "-o", f"APT::FTPArchive::Release::Codename={MIRROR_SUITE}",
                           "-o", f"APT::FTPArchive::Release::Architectures={ARCH}",
                           "-o", f"APT::FTPArchive::Release::Components={COMPONENT}",
                           "-o", "APT::FTPArchive::Release::Description=lxdha lab mirror",
                           "release", "."], cwd=dist, timeout=120).stdout
            (dist / "Release").write_text(release)
            _gpg(gnupg, "-u", fpr, "--digest-algo", "SHA512", "--clearsign", "-o", str(dist / "InRelease"),
                 str(dist / "Release"))
            _gpg(gnupg, "-u", fpr, "--digest-algo", "SHA512", "--armor", "--detach-sign",
                 "-o", str(dist / "Release.gpg"), str(dist / "Release"))
            write_public(key_armored, _gpg(gnupg, "--armor", "--export", fpr))
            binary_key = run(["gpg", "--homedir", str(gnupg), "--batch", "--export", fpr], timeout=60,
                             input=b"").stdout
            write_public(key_binary, binary_key)
            stamp.write_text(fpr)
    finally:
        stop_gpg_agent(gnupg)
    return SignedMirror(root, key_armored, key_binary, fpr)


def mirror_files(mirror: SignedMirror) -> list[Path]:
    return sorted(p for p in mirror.root.rglob("*") if p.is_file() and not p.name.startswith("."))
