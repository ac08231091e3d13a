"""Reads the site's stack config (image, mirror, SSH access) and fails early naming the key."""

from __future__ import annotations

from typing import Any

import pulumi

from cluster.errors import ConfigError
from components.balanced_container import AccessConfig
from components.config_files import read_config_file
from components.image_alias import ImageSource

NAMESPACE = "lxdha"


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
