"""The HA registry's secret inputs, from `--secret` config or from files, always as Pulumi secrets.

Each secret has a top-level secret key (set with `pulumi config set --secret`) and a file
alternative inside `lxdha:registry` (how the lab stack points at files it generates). A missing
one fails at preview naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from cluster.errors import ConfigError
from components.config_files import read_config_file
from components.site_config import inline_or_file
from provisioners.htpasswd import htpasswd_lines, parse_users_file, user_problem

NAMESPACE = "lxdha"


@dataclass
class RegistrySecrets:
    s3_access_key: pulumi.Output[str]
    s3_secret_key: pulumi.Output[str]
    htpasswd: pulumi.Output[str]
    tls_cert: str
    tls_key: pulumi.Output[str]
    http_secret: pulumi.Output[str] | None  # None: generated once and kept in the state
    vrrp_password: pulumi.Output[str] | None


def _secret(config: pulumi.Config, key: str, section: dict[str, Any], file_field: str, where: str,
            required: bool = True) -> pulumi.Output[str] | None:
    inline = config.get_secret(key)
    if inline is not None:
        return inline
    path = section.get(file_field)
    if path:
        return pulumi.Output.secret(read_config_file(f"{NAMESPACE}:registry.{where}", path).strip())
    if not required:
        return None
    raise ConfigError(f"{NAMESPACE}:{key}", "is not set",
                      f"pulumi config set --secret {NAMESPACE}:{key} <value>, or set {NAMESPACE}:registry.{where}")


def _users(config: pulumi.Config, raw: dict[str, Any]) -> pulumi.Output[dict[str, str]]:
    inline = config.get_secret_object("registryUsers")
    if inline is not None:
        return inline.apply(_checked_users)
    if raw.get("usersFile"):
        text = read_config_file(f"{NAMESPACE}:registry.usersFile", raw["usersFile"])
        try:
            return pulumi.Output.secret(_checked_users(parse_users_file(text)))
        except ValueError as error:
            raise ConfigError(f"{NAMESPACE}:registry.usersFile", str(error),
                              "write one user:password per line") from None
    raise ConfigError(f"{NAMESPACE}:registryUsers", "no registry users: anonymous access is refused, so at least "
                      "one user is needed", f"pulumi config set --secret --path '{NAMESPACE}:registryUsers.<user>' "
                      "<password>, or set registry.usersFile")


def _checked_users(users: Any) -> dict[str, str]:
    if not isinstance(users, dict) or not users:
        raise ConfigError(f"{NAMESPACE}:registryUsers", "is not a non-empty user -> password mapping",
                          "set at least one user")
    for user, password in users.items():
        problem = user_problem(str(user))
        if problem or not password:
            raise ConfigError(f"{NAMESPACE}:registryUsers", problem or f"user {user!r} has an empty password",
                              "fix the user entry")
    return {str(user): str(password) for user, password in users.items()}


def registry_secrets(config: pulumi.Config, raw: dict[str, Any], vrrp_version: int) -> RegistrySecrets:
    s3 = raw.get("s3") or {}
    tls = raw.get("tls") or {}
    cert = inline_or_file(tls, "cert", "registry.tls")
    if not cert:
        raise ConfigError(f"{NAMESPACE}:registry.tls.certFile", "no TLS certificate for the VIP",
                          "set registry.tls.certFile (PEM, with the VIP as a subject alternative name)")
    return RegistrySecrets(
        s3_access_key=_secret(config, "registryS3AccessKey", s3, "accessKeyFile", "s3.accessKeyFile"),
        s3_secret_key=_secret(config, "registryS3SecretKey", s3, "secretKeyFile", "s3.secretKeyFile"),
        htpasswd=pulumi.Output.secret(_users(config, raw).apply(htpasswd_lines)),
        tls_cert=cert,
        tls_key=_secret(config, "registryTlsKey", tls, "keyFile", "tls.keyFile"),
        http_secret=_secret(config, "registryHttpSecret", raw, "httpSecretFile", "httpSecretFile", required=False),
        vrrp_password=_secret(config, "registryVrrpPassword", raw, "vrrpPasswordFile", "vrrpPasswordFile",
                              required=vrrp_version == 2),
    )
