"""Secrets the lab stacks need that the lab itself does not issue: the Ansible SSH key, the
registry's users and its TLS certificate (covering the lab's whole VIP range), and the database's
passwords and TLS certificate (the same VIP range).

Generated once under .state/ (git-ignored, 0600 for private parts); Pulumi.lab.yaml names the
files and the program reads them as Pulumi secrets.
"""

from __future__ import annotations

import ipaddress
import secrets
import subprocess
from pathlib import Path

from lab.files import write_public, write_secret
from lab.pki import issue_self_signed
from toolchain.pulumi_cli import STATE_DIR

SSH_KEY = STATE_DIR / "ssh" / "id_ed25519"
REGISTRY_DIR = STATE_DIR / "registry"
USERS_FILE = REGISTRY_DIR / "users"
TLS_CERT = REGISTRY_DIR / "tls.crt"
TLS_KEY = REGISTRY_DIR / "tls.key"
LAB_VIP_RANGE = ("10.91.0.240", "10.91.0.250")
DEMO_USER = "lxdha"
POSTGRES_DIR = STATE_DIR / "postgres"
POSTGRES_PASSWORDS = ("superuser", "replication", "rewind", "rest-api", "app")
POSTGRES_TLS_CERT = POSTGRES_DIR / "tls.crt"
POSTGRES_TLS_KEY = POSTGRES_DIR / "tls.key"


def ensure_ssh_key() -> Path:
    """The key Ansible logs in with on the lab."""
    if not SSH_KEY.exists():
        SSH_KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lxdha-lab", "-f", str(SSH_KEY)],
                       check=True, timeout=30)
    return SSH_KEY


def ensure_registry_files() -> None:
    """A demo user with a random password, and a certificate for every lab VIP."""
    if not USERS_FILE.exists():
        write_secret(USERS_FILE, f"{DEMO_USER}:{secrets.token_urlsafe(18)}\n")
    if not (TLS_CERT.exists() and TLS_KEY.exists()):
        cert, key = issue_self_signed("lxdha lab registry", ips=_lab_vips())
        write_secret(TLS_KEY, key)
        write_public(TLS_CERT, cert)


def _lab_vips() -> list[str]:
    low, high = (ipaddress.IPv4Address(a) for a in LAB_VIP_RANGE)
    return [str(ipaddress.IPv4Address(n)) for n in range(int(low), int(high) + 1)]


def postgres_password_file(name: str) -> Path:
    return POSTGRES_DIR / f"{name}-password"


def ensure_postgres_files() -> None:
    """Random passwords for the database's users and Patroni's API, and a certificate for every lab VIP."""
    for name in POSTGRES_PASSWORDS:
        if not postgres_password_file(name).exists():
            write_secret(postgres_password_file(name), secrets.token_urlsafe(24))
    if not (POSTGRES_TLS_CERT.exists() and POSTGRES_TLS_KEY.exists()):
        cert, key = issue_self_signed("lxdha lab postgres", ips=_lab_vips())
        write_secret(POSTGRES_TLS_KEY, key)
        write_public(POSTGRES_TLS_CERT, cert)


def postgres_password(name: str) -> str:
    return postgres_password_file(name).read_text().strip()


def registry_login() -> tuple[str, str]:
    """(user, password) of the demo user, for clients such as skopeo."""
    user, _, password = USERS_FILE.read_text().splitlines()[0].partition(":")
    return user, password


def ensure_all() -> None:
    ensure_ssh_key()
    ensure_registry_files()
    ensure_postgres_files()


if __name__ == "__main__":
    ensure_all()
