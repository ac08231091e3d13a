"""Reads the site's stack config (image, mirror, SSH access) and fails early naming the exact key.

The readers take the raw config values (plain data), so the production stack file is validated by
the same code offline (tests/unit/test_prod_stack.py); `access` is the only one that needs Pulumi
(it wraps the private key as a secret).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from cluster.errors import ConfigError
from cluster.images import PROTOCOLS
from config.checks import (
    alpine_release_problem,
    check_known_keys,
    image_name_problem,
    pem_certificate_problem,
    private_key_problem,
    public_key_problem,
    repository_path_problem,
    url_host,
    url_problem,
    word_problem,
)
from config.files import read_config_file
from config.lxd import endpoint_from_settings

NAMESPACE = "lxdha"
IMAGE_KEYS = ("remote", "protocol", "source", "alias", "distro", "remoteCert", "remoteCertFile", "bake", "bakedAlias",
              "bakePackages")
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*$")
MIRROR_KEYS = ("url", "suite", "components", "signingKey", "signingKeyFile", "repositories")
SSH_KEYS = ("authorizedKeys", "authorizedKeysFile", "privateKeyFile")
PRIVATE_KEY_SECRET = f"{NAMESPACE}:sshPrivateKey"
DISTROS = ("debian", "alpine")  # the distros a bootstrap and a bake plan exist for (provisioners/bootstrap_plan.py)


@dataclass(frozen=True)
class ImageSource:
    remote_url: str  # e.g. https://images.lxd.canonical.com (prod) or the lab's image remote
    protocol: str  # "simplestreams" or "lxd"
    source: str  # alias on the remote, e.g. alpine/3.23
    alias: str  # the stable local alias, e.g. alpine/stable
    distro: str  # how containers from it are bootstrapped: "alpine" or "debian"
    remote_certificate: str = field(default="", repr=False)  # PEM that pins an LXD-protocol image server


@dataclass
class AccessConfig:
    """How the controller reaches containers: the mirror to bootstrap from, SSH keys for Ansible."""

    mirror: dict[str, Any]
    authorized_keys: list[str]
    private_key: pulumi.Input[str] = field(repr=False)  # secret


def _key(path: str) -> str:
    return f"{NAMESPACE}:{path}"


def _file(key: str, path: str) -> str:
    return read_config_file(_key(key), path)


def _section(raw: Any, key: str, known: tuple[str, ...]) -> dict[str, Any]:
    """The mapping under `lxdha:<key>`, refusing unknown settings (a typo would silently be ignored)."""
    if not isinstance(raw, dict):
        raise ConfigError(_key(key), "is missing or not a mapping", f"see docs/config.md ({key})")
    check_known_keys(raw, known, _key(key))
    return raw


def inline_or_file(section: dict[str, Any], key: str, where: str) -> str:
    if section.get(key):
        return str(section[key])
    if section.get(f"{key}File"):
        return _file(f"{where}.{key}File", section[f"{key}File"])
    return ""


def _source_key(section: dict[str, Any], key: str, where: str) -> str:
    """The key a value came from, `lxdha:<where>.<key>` or `...<key>File`, for messages."""
    return _key(f"{where}.{key}" if section.get(key) else f"{where}.{key}File")


def image_source(raw: Any) -> ImageSource:
    image = _section(raw, "image", IMAGE_KEYS)
    for required in ("remote", "source", "alias", "distro"):
        if not image.get(required):
            raise ConfigError(_key(f"image.{required}"), "is not set", "see docs/config.md (image)")
    protocol = image.get("protocol", "simplestreams")
    if protocol not in PROTOCOLS:
        raise ConfigError(_key("image.protocol"), f"{protocol!r} is not an image server protocol",
                          f"use one of {', '.join(PROTOCOLS)}")
    problem = url_problem(image["remote"], schemes=("https",))
    if problem:
        raise ConfigError(_key("image.remote"), problem,
                          "give the image server's https:// URL, e.g. https://images.lxd.canonical.com")
    for name in ("source", "alias"):
        problem = image_name_problem(image[name])
        if problem:
            raise ConfigError(_key(f"image.{name}"), problem, "e.g. source alpine/3.24, alias alpine/stable")
    if image["distro"] not in DISTROS:
        raise ConfigError(_key("image.distro"), f"unknown distro {image['distro']!r}",
                          f"use one of {', '.join(DISTROS)} (how containers from this image are bootstrapped)")
    certificate = inline_or_file(image, "remoteCert", "image")
    if certificate and pem_certificate_problem(certificate):
        raise ConfigError(_source_key(image, "remoteCert", "image"), pem_certificate_problem(certificate) or "",
                          "give the image server's certificate (PEM), or leave it unset to use the system CAs")
    return ImageSource(remote_url=image["remote"], protocol=protocol, source=image["source"], alias=image["alias"],
                       distro=image["distro"], remote_certificate=certificate)


def _words(raw: dict[str, Any], field: str, default: list[str]) -> list[str]:
    values = raw.get(field, default)
    if isinstance(values, str) or not isinstance(values, list) or not values:
        raise ConfigError(_key(f"mirror.{field}"), f"{values!r} is not a non-empty list", f"e.g. {default}")
    for value in values:
        problem = word_problem(value)
        if problem:
            raise ConfigError(_key(f"mirror.{field}"), problem, f"e.g. {default}")
    return [str(value) for value in values]


def mirror(raw: Any, image: ImageSource) -> dict[str, Any]:
    """The package mirror for the image's distro: Debian needs suite + components + signing key,
    Alpine needs repository paths of the image's own release."""
    section = _section(raw, "mirror", MIRROR_KEYS)
    problem = url_problem(section.get("url"))
    if problem:
        raise ConfigError(_key("mirror.url"), problem, "set the private mirror's base URL, e.g. http://10.0.0.55:9000")
    signing_key = inline_or_file(section, "signingKey", "mirror")
    repositories: list[str] = []
    if image.distro == "debian":
        suite = section.get("suite", "bookworm")
        if word_problem(suite):
            raise ConfigError(_key("mirror.suite"), word_problem(suite) or "", "e.g. bookworm")
        components = _words(section, "components", ["main"])
        if "BEGIN PGP PUBLIC KEY BLOCK" not in signing_key:
            raise ConfigError(_source_key(section, "signingKey", "mirror"),
                              "the Debian mirror needs its armored signing key",
                              "set lxdha:mirror.signingKey or signingKeyFile (apt verifies with signed-by)")
    else:
        suite, components = str(section.get("suite", "bookworm")), ["main"]
        raw_repositories = section.get("repositories")
        if isinstance(raw_repositories, str) or not isinstance(raw_repositories, list) or not raw_repositories:
            raise ConfigError(_key("mirror.repositories"), "no Alpine repositories listed",
                              "list paths under the mirror URL, e.g. [alpine/v3.24/main, alpine/v3.24/community]")
        for path in raw_repositories:
            problem = repository_path_problem(path)
            if problem:
                raise ConfigError(_key("mirror.repositories"), problem, "e.g. alpine/v3.24/main")
        repositories = [str(path) for path in raw_repositories]
        problem = alpine_release_problem(image.source, repositories)
        if problem:
            raise ConfigError(_key("mirror.repositories"), problem,
                              "list the image's release, e.g. alpine/v3.24/main for alpine/3.24")
    return {"url": section["url"], "suite": suite, "components": components, "signing_key": signing_key,
            "repositories": repositories}


def _checked_key(line: str, where: str, fix: str) -> str:
    problem = public_key_problem(line)
    if problem:
        raise ConfigError(where, problem, fix)
    return line.strip()


def authorized_keys(ssh: dict[str, Any]) -> list[str]:
    """Every public key from `ssh.authorizedKeys` (a list) and `ssh.authorizedKeysFile` (one per line,
    '#' comments allowed), each parsed; the error names the entry or file line at fault."""
    inline = ssh.get("authorizedKeys") or []
    if isinstance(inline, str) or not isinstance(inline, list):
        raise ConfigError(_key("ssh.authorizedKeys"), "is not a list of public keys",
                          "write it as a YAML list: authorizedKeys: ['ssh-ed25519 AAAA... you@host']")
    fix = "paste the whole line of the .pub file, e.g. 'ssh-ed25519 AAAAC3Nza... you@host'"
    keys = [_checked_key(str(line), _key(f"ssh.authorizedKeys[{index}]"), fix) for index, line in enumerate(inline)]
    if ssh.get("authorizedKeysFile"):
        path = str(ssh["authorizedKeysFile"])
        for number, line in enumerate(_file("ssh.authorizedKeysFile", path).splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                keys.append(_checked_key(line, _key("ssh.authorizedKeysFile"), f"fix line {number} of {path}: {fix}"))
    if not keys:
        raise ConfigError(_key("ssh.authorizedKeys"), "no SSH public key given (nor in ssh.authorizedKeysFile)",
                          "list at least one public key: Ansible and operators log in with it")
    return keys


def private_key(inline: str | None, ssh: dict[str, Any]) -> str:
    """The key Ansible logs in with: `lxdha:sshPrivateKey` (secret) or `ssh.privateKeyFile`, checked to
    parse without a passphrase. The value itself never appears in an error."""
    if inline:
        source, text = PRIVATE_KEY_SECRET, inline
    elif ssh.get("privateKeyFile"):
        source, text = _key("ssh.privateKeyFile"), _file("ssh.privateKeyFile", str(ssh["privateKeyFile"]))
    else:
        raise ConfigError(PRIVATE_KEY_SECRET, "no SSH private key for Ansible",
                          f"pulumi config set --secret {PRIVATE_KEY_SECRET} < key, or set lxdha:ssh.privateKeyFile")
    problem = private_key_problem(text)
    if problem:
        raise ConfigError(source, problem, "give the private half of one of the authorized keys")
    return text


def lxd_remote_host(get: Callable[[str], object], base_dir: Path | None = None) -> str:
    """Checks the `lxd:*` settings the way the providers will read them (config/lxd.py), before
    anything is declared, plus the URL syntax of `lxd:remote`; returns the remote's host."""
    remote = get("remote")
    problem = url_problem(remote, schemes=("https",), path_allowed=False) if remote else None
    if problem:
        raise ConfigError("lxd:remote", problem, "set lxd:remote to https://<load balancer>:8443")
    endpoint_from_settings(get, base_dir or Path.cwd())
    return url_host(str(remote))


def access(config: pulumi.Config, image: ImageSource) -> AccessConfig:
    """Mirror and SSH access, validated; the private key is wrapped as a Pulumi secret."""
    ssh = _section(config.get_object("ssh"), "ssh", SSH_KEYS)
    keys = authorized_keys(ssh)
    secret_key = pulumi.Output.secret(private_key(config.get("sshPrivateKey"), ssh))
    return AccessConfig(mirror=mirror(config.get_object("mirror"), image), authorized_keys=keys,
                        private_key=secret_key)


@dataclass(frozen=True)
class BakeSettings:
    """`lxdha:image.bake` (default true), `bakedAlias` (default `<alias>-baked`), `bakePackages`."""

    enabled: bool
    alias: str
    packages: tuple[str, ...]


def bake_settings(raw: Any) -> BakeSettings:
    image = _section(raw, "image", IMAGE_KEYS)
    enabled = image.get("bake", True)
    if not isinstance(enabled, bool):
        raise ConfigError(_key("image.bake"), f"{enabled!r} is not true/false",
                          "set true (bake a base image once; the default) or false (bootstrap every container)")
    alias = str(image.get("bakedAlias") or f"{image.get('alias')}-baked")
    problem = image_name_problem(alias)
    if problem:
        raise ConfigError(_key("image.bakedAlias"), problem, "e.g. debian/lxdha-base")
    if enabled and alias == image.get("alias"):
        raise ConfigError(_key("image.bakedAlias"), f"{alias!r} is also lxdha:image.alias: an alias names one image, "
                          "so the baked image would take it from the base image", "give the baked image its own "
                          "alias, e.g. <alias>-baked (the default)")
    packages = image.get("bakePackages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) and PACKAGE_NAME.match(p) for p in packages):
        raise ConfigError(_key("image.bakePackages"), f"{packages!r} is not a list of package names",
                          "list package names, e.g. [htop, curl]")
    return BakeSettings(enabled, alias, tuple(packages))
