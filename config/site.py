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


def _section(raw: Any, key: str, known: tuple[str, ...]) -> dict[str, Any]:
    """The mapping at `key` (e.g. `lxdha:mirror`), refusing unknown settings (a typo would silently be ignored)."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "is missing or not a mapping", f"see docs/config.md ({key.rpartition(':')[2]})")
    check_known_keys(raw, known, key)
    return raw


def inline_or_file(section: dict[str, Any], key: str, where: str) -> str:
    """`<where>.<key>`, given inline or as a file (`<key>File`); empty when neither is set."""
    if section.get(key):
        return str(section[key])
    if section.get(f"{key}File"):
        return read_config_file(f"{where}.{key}File", section[f"{key}File"])
    return ""


def _source_key(section: dict[str, Any], key: str, where: str) -> str:
    """The key a value came from, `<where>.<key>` or `...<key>File` (the inline one when neither is set)."""
    return f"{where}.{key}File" if section.get(f"{key}File") and not section.get(key) else f"{where}.{key}"


def image_source(raw: Any) -> ImageSource:
    image = _section(raw, _key("image"), IMAGE_KEYS)
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
    certificate = inline_or_file(image, "remoteCert", _key("image"))
    if certificate and pem_certificate_problem(certificate):
        raise ConfigError(_source_key(image, "remoteCert", _key("image")), pem_certificate_problem(certificate) or "",
                          "give the image server's certificate (PEM), or leave it unset to use the system CAs")
    return ImageSource(remote_url=image["remote"], protocol=protocol, source=image["source"], alias=image["alias"],
                       distro=image["distro"], remote_certificate=certificate)


def _words(raw: dict[str, Any], field: str, default: list[str], key: str) -> list[str]:
    values = raw.get(field, default)
    if isinstance(values, str) or not isinstance(values, list) or not values:
        raise ConfigError(f"{key}.{field}", f"{values!r} is not a non-empty list", f"e.g. {default}")
    for value in values:
        problem = word_problem(value)
        if problem:
            raise ConfigError(f"{key}.{field}", problem, f"e.g. {default}")
    return [str(value) for value in values]


def mirror(raw: Any, distro: str, release: str | None = None, key: str = _key("mirror")) -> dict[str, Any]:
    """The package mirror for the image's distro: Debian needs suite + components + signing key,
    Alpine needs repository paths of the image's own release (`release`, the image's remote name such as
    alpine/3.24, when known). `key` is where the section is: `lxdha:mirror`, or a component's `mirror`."""
    section = _section(raw, key, MIRROR_KEYS)
    problem = url_problem(section.get("url"))
    if problem:
        raise ConfigError(f"{key}.url", problem, "set the private mirror's base URL, e.g. http://10.0.0.55:9000")
    signing_key = inline_or_file(section, "signingKey", key)
    repositories: list[str] = []
    if distro == "debian":
        suite = section.get("suite", "bookworm")
        if word_problem(suite):
            raise ConfigError(f"{key}.suite", word_problem(suite) or "", "e.g. bookworm")
        components = _words(section, "components", ["main"], key)
        if "BEGIN PGP PUBLIC KEY BLOCK" not in signing_key:
            raise ConfigError(_source_key(section, "signingKey", key), "the Debian mirror needs its armored signing "
                              "key", "give the mirror's armored public key (apt verifies with signed-by)")
    else:
        suite, components = str(section.get("suite", "bookworm")), ["main"]
        raw_repositories = section.get("repositories")
        if isinstance(raw_repositories, str) or not isinstance(raw_repositories, list) or not raw_repositories:
            raise ConfigError(f"{key}.repositories", "no Alpine repositories listed",
                              "list paths under the mirror URL, e.g. [alpine/v3.24/main, alpine/v3.24/community]")
        for path in raw_repositories:
            problem = repository_path_problem(path)
            if problem:
                raise ConfigError(f"{key}.repositories", problem, "e.g. alpine/v3.24/main")
        repositories = [str(path) for path in raw_repositories]
        problem = alpine_release_problem(release, repositories) if release else None
        if problem:
            raise ConfigError(f"{key}.repositories", problem,
                              "list the image's release, e.g. alpine/v3.24/main for alpine/3.24")
    return {"url": section["url"], "suite": suite, "components": components, "signing_key": signing_key,
            "repositories": repositories}


def _checked_key(line: str, where: str, fix: str) -> str:
    problem = public_key_problem(line)
    if problem:
        raise ConfigError(where, problem, fix)
    return line.strip()


def authorized_keys(ssh: dict[str, Any], key: str = _key("ssh")) -> list[str]:
    """Every public key from `authorizedKeys` (a list) and `authorizedKeysFile` (one per line, '#' comments
    allowed) of the section at `key`, each parsed; the error names the entry or file line at fault."""
    inline = ssh.get("authorizedKeys") or []
    if isinstance(inline, str) or not isinstance(inline, list):
        raise ConfigError(f"{key}.authorizedKeys", "is not a list of public keys",
                          "write it as a YAML list: authorizedKeys: ['ssh-ed25519 AAAA... you@host']")
    fix = "paste the whole line of the .pub file, e.g. 'ssh-ed25519 AAAAC3Nza... you@host'"
    keys = [_checked_key(str(line), f"{key}.authorizedKeys[{index}]", fix) for index, line in enumerate(inline)]
    if ssh.get("authorizedKeysFile"):
        path = str(ssh["authorizedKeysFile"])
        for number, line in enumerate(read_config_file(f"{key}.authorizedKeysFile", path).splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                keys.append(_checked_key(line, f"{key}.authorizedKeysFile", f"fix line {number} of {path}: {fix}"))
    if not keys:
        raise ConfigError(f"{key}.authorizedKeys", "no SSH public key given",
                          "list at least one public key: Ansible and operators log in with it")
    return keys


def checked_private_key(source: str, text: str) -> str:
    """The key Ansible logs in with, checked to parse without a passphrase; `source` is the setting it came
    from. The value itself never appears in an error."""
    problem = private_key_problem(text)
    if problem:
        raise ConfigError(source, problem, "give the private half of one of the authorized keys")
    return text


def private_key(inline: str | None, ssh: dict[str, Any]) -> str:
    """The stack's key for Ansible: `lxdha:sshPrivateKey` (secret) or `ssh.privateKeyFile`."""
    if inline:
        return checked_private_key(PRIVATE_KEY_SECRET, inline)
    if ssh.get("privateKeyFile"):
        return checked_private_key(_key("ssh.privateKeyFile"),
                                   read_config_file(_key("ssh.privateKeyFile"), str(ssh["privateKeyFile"])))
    raise ConfigError(PRIVATE_KEY_SECRET, "no SSH private key for Ansible",
                      f"pulumi config set --secret {PRIVATE_KEY_SECRET} < key, or set lxdha:ssh.privateKeyFile")


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
    ssh = _section(config.get_object("ssh"), _key("ssh"), SSH_KEYS)
    keys = authorized_keys(ssh)
    secret_key = pulumi.Output.secret(private_key(config.get("sshPrivateKey"), ssh))
    return AccessConfig(mirror=mirror(config.get_object("mirror"), image.distro, image.source), authorized_keys=keys,
                        private_key=secret_key)


@dataclass(frozen=True)
class BakeSettings:
    """`lxdha:image.bake` (default true), `bakedAlias` (default `<alias>-baked`), `bakePackages`."""

    enabled: bool
    alias: str
    packages: tuple[str, ...]


def bake_settings(raw: Any) -> BakeSettings:
    image = _section(raw, _key("image"), IMAGE_KEYS)
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
