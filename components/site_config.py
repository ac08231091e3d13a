"""Reads the site's stack config (image, mirror, SSH access) and fails early naming the key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi

from cluster.errors import ConfigError
from components.balanced_container import AccessConfig
from components.config_files import read_config_file
from components.image_alias import ImageSource

NAMESPACE = "lxdha"
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*$")


def _file(key: str, path: str) -> str:
    return read_config_file(f"{NAMESPACE}:{key}", path)


def _object(config: pulumi.Config, key: str) -> dict[str, Any]:
    value = config.get_object(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{NAMESPACE}:{key}", "is missing or not a mapping", f"see README, config reference: {key}")
    return value


def inline_or_file(section: dict[str, Any], key: str, where: str) -> str:
    if section.get(key):
        return str(section[key])
    if section.get(f"{key}File"):
        return _file(f"{where}.{key}File", section[f"{key}File"])
    return ""


def image_source(config: pulumi.Config) -> ImageSource:
    image = _object(config, "image")
    for required in ("remote", "source", "alias", "distro"):
        if not image.get(required):
            raise ConfigError(f"{NAMESPACE}:image.{required}", "is not set", "see README, config reference: image")
    return ImageSource(remote_url=image["remote"], protocol=image.get("protocol", "simplestreams"),
                       source=image["source"], alias=image["alias"], distro=image["distro"],
                       remote_certificate=inline_or_file(image, "remoteCert", "image"))


def mirror(config: pulumi.Config) -> dict[str, Any]:
    raw = _object(config, "mirror")
    if not raw.get("url"):
        raise ConfigError(f"{NAMESPACE}:mirror.url", "is not set", "set the private mirror's base URL")
    return {
        "url": raw["url"],
        "suite": raw.get("suite", "bookworm"),
        "components": list(raw.get("components", ["main"])),
        "signing_key": inline_or_file(raw, "signingKey", "mirror"),
        "repositories": list(raw.get("repositories", [])),
    }


def access(config: pulumi.Config) -> AccessConfig:
    ssh = _object(config, "ssh")
    keys = list(ssh.get("authorizedKeys") or [])
    if ssh.get("authorizedKeysFile"):
        keys += [line.strip() for line in _file("ssh.authorizedKeysFile", ssh["authorizedKeysFile"]).splitlines()
                 if line.strip()]
    private_key: pulumi.Input[str] | None = config.get_secret("sshPrivateKey")
    if private_key is None and ssh.get("privateKeyFile"):
        private_key = pulumi.Output.secret(_file("ssh.privateKeyFile", ssh["privateKeyFile"]))
    if private_key is None:
        raise ConfigError(f"{NAMESPACE}:sshPrivateKey", "no SSH private key for Ansible",
                          "pulumi config set --secret lxdha:sshPrivateKey < key, or set ssh.privateKeyFile")
    return AccessConfig(mirror=mirror(config), authorized_keys=keys, private_key=private_key)


@dataclass(frozen=True)
class BakeSettings:
    """`lxdha:image.bake` (default true), `bakedAlias` (default `<alias>-baked`), `bakePackages`."""

    enabled: bool
    alias: str
    packages: tuple[str, ...]


def bake_settings(config: pulumi.Config) -> BakeSettings:
    image = _object(config, "image")
    enabled = image.get("bake", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{NAMESPACE}:image.bake", f"{enabled!r} is not true/false",
                          "set true (bake a base image once; the default) or false (bootstrap every container)")
    alias = str(image.get("bakedAlias") or f"{image.get('alias')}-baked")
    if " " in alias or not alias.strip("/"):
        raise ConfigError(f"{NAMESPACE}:image.bakedAlias", f"{alias!r} is not an image alias", "e.g. debian/lxdha-base")
    packages = image.get("bakePackages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) and PACKAGE_NAME.match(p) for p in packages):
        raise ConfigError(f"{NAMESPACE}:image.bakePackages", f"{packages!r} is not a list of package names",
                          "list package names, e.g. [htop, curl]")
    return BakeSettings(enabled, alias, tuple(packages))
