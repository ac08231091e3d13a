"""The HA registry's secret inputs, from `--secret` config or from files, always as Pulumi secrets.

Each secret has a top-level secret key (set with `pulumi config set --secret`) and a file
alternative inside `lxdha:registry` (how the lab stack points at files it generates). Every value is
read and checked before anything is declared (a missing one fails naming both keys; a bad one names
the key it came from), then wrapped as a secret; no value is ever echoed in an error or a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from cluster.errors import ConfigError
from config.files import read_config_file
from config.htpasswd import htpasswd_lines, parse_users_file, password_problem, user_problem
from config.registry import RegistrySettings
from config.secret_values import Secret, one_line, read_one_line, read_plain, server_tls

NAMESPACE = "lxdha"
# the top-level secret keys read below (`lxdha:<key>`), each with a file alternative inside lxdha:registry
SECRET_KEYS = ("registryS3AccessKey", "registryS3SecretKey", "registryTlsKey", "registryUsers", "registryHttpSecret",
               "registryVrrpPassword")
VRRP_V2_PASSWORD_CHARS = 8  # keepalived uses only the first 8 characters of a VRRPv2 auth_pass
# config.yml (role registry) holds the S3 keys and the http secret in double-quoted YAML strings
IN_CONFIG_YML = ('"\\', "the registry's config.yml holds it in a double-quoted YAML string")
# keepalived.conf holds auth_pass unquoted: its parser cuts a line at '#' or '!' and reads '"' and '\'
IN_KEEPALIVED_CONF = ('#!"\\', "keepalived.conf would read it as a comment, a quote or an escape")


@dataclass
class RegistrySecrets:
    s3_access_key: pulumi.Output[str] = field(repr=False)
    s3_secret_key: pulumi.Output[str] = field(repr=False)
    htpasswd: pulumi.Output[str] = field(repr=False)
    tls_cert: str
    tls_key: pulumi.Output[str] = field(repr=False)
    http_secret: pulumi.Output[str] | None = field(repr=False)  # None: generated once and kept in the state
    vrrp_password: pulumi.Output[str] | None = field(repr=False)


S3_ACCESS_KEY = Secret("registryS3AccessKey", f"{NAMESPACE}:registry.s3", "accessKeyFile", "S3 access key")
S3_SECRET_KEY = Secret("registryS3SecretKey", f"{NAMESPACE}:registry.s3", "secretKeyFile", "S3 secret key")
TLS_KEY = Secret("registryTlsKey", f"{NAMESPACE}:registry.tls", "keyFile", "TLS key")
HTTP_SECRET = Secret("registryHttpSecret", f"{NAMESPACE}:registry", "httpSecretFile", "registry http secret")
VRRP_PASSWORD = Secret("registryVrrpPassword", f"{NAMESPACE}:registry", "vrrpPasswordFile", "VRRP password")


def _users(config: pulumi.Config, raw: dict[str, Any]) -> dict[str, str]:
    inline = config.get_object("registryUsers")
    if inline is not None:
        return _checked_users(inline, f"{NAMESPACE}:registryUsers")
    if raw.get("usersFile"):
        text = read_config_file(f"{NAMESPACE}:registry.usersFile", raw["usersFile"])
        try:
            return _checked_users(parse_users_file(text), f"{NAMESPACE}:registry.usersFile")
        except ValueError as error:
            raise ConfigError(f"{NAMESPACE}:registry.usersFile", str(error),
                              "write one user:password per line") from None
    raise ConfigError(f"{NAMESPACE}:registryUsers", "no registry users: anonymous access is refused, so at least "
                      "one user is needed", f"pulumi config set --secret --path '{NAMESPACE}:registryUsers.<user>' "
                      "<password>, or set registry.usersFile")


def _checked_users(users: Any, source: str) -> dict[str, str]:
    if not isinstance(users, dict) or not users:
        raise ConfigError(source, "is not a non-empty user -> password mapping", "set at least one user")
    for user, password in users.items():
        problem = user_problem(str(user)) or password_problem(str(user), password)
        if problem:
            raise ConfigError(source, problem, "correct that user: a name of 1-64 visible characters without ':' "
                              "or a leading '#', a password of 1-72 bytes")
    return {str(user): str(password) for user, password in users.items()}


def registry_secrets(config: pulumi.Config, raw: dict[str, Any], settings: RegistrySettings) -> RegistrySecrets:
    s3 = raw.get("s3") or {}
    cert, key = server_tls(config, raw.get("tls") or {}, f"{NAMESPACE}:registry.tls", TLS_KEY, settings.vrrp.vip)
    vrrp_password = read_plain(config, VRRP_PASSWORD, raw, required=settings.vrrp.version == 2)
    if vrrp_password and settings.vrrp.version != 2:
        raise ConfigError(vrrp_password[0], f"VRRPv{settings.vrrp.version} has no authentication: keepalived "
                          "would ignore the password", "remove it, or set lxdha:registry.vrrpVersion 2")
    if vrrp_password and len(vrrp_password[1]) > VRRP_V2_PASSWORD_CHARS:
        raise ConfigError(vrrp_password[0], f"VRRPv2 uses only the first {VRRP_V2_PASSWORD_CHARS} characters of "
                          "the password", f"use a password of at most {VRRP_V2_PASSWORD_CHARS} characters")
    return RegistrySecrets(
        s3_access_key=read_one_line(config, S3_ACCESS_KEY, s3, IN_CONFIG_YML),
        s3_secret_key=read_one_line(config, S3_SECRET_KEY, s3, IN_CONFIG_YML),
        htpasswd=pulumi.Output.secret(htpasswd_lines(_users(config, raw))),
        tls_cert=cert,
        tls_key=key,
        http_secret=one_line(read_plain(config, HTTP_SECRET, raw, required=False), HTTP_SECRET.what, IN_CONFIG_YML),
        vrrp_password=one_line(vrrp_password, VRRP_PASSWORD.what, IN_KEEPALIVED_CONF),
    )
