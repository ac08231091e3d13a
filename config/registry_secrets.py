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
from config.secret_values import Given, Secret, checked_tls, one_line, read_plain, stack_certificate

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


def _users(config: pulumi.Config, raw: dict[str, Any]) -> tuple[str, Any]:
    """(the setting they came from, user -> password): `lxdha:registryUsers`, or the `usersFile` lines."""
    inline = config.get_object("registryUsers")
    if inline is not None:
        return f"{NAMESPACE}:registryUsers", inline
    if raw.get("usersFile"):
        text = read_config_file(f"{NAMESPACE}:registry.usersFile", raw["usersFile"])
        try:
            return f"{NAMESPACE}:registry.usersFile", parse_users_file(text)
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


def _htpasswd(source: str, users: Any) -> pulumi.Output[str]:
    """A mapping given with secret values (a hosted component's input) is checked once they resolve."""
    if isinstance(users, dict) and any(isinstance(value, pulumi.Output) for value in users.values()):
        users = pulumi.Output.all(**users)
    if isinstance(users, pulumi.Output):
        return pulumi.Output.secret(users.apply(lambda plain: htpasswd_lines(_checked_users(plain, source))))
    return pulumi.Output.secret(htpasswd_lines(_checked_users(users, source)))


def _vrrp_password(settings: RegistrySettings, given: Given | None) -> pulumi.Output[str] | None:
    version = settings.vrrp.version
    if given is None:
        if version == 2:
            raise ConfigError(settings.vip_group.setting("vrrpPassword"), "is not set (VRRPv2 authenticates its "
                              "adverts)", "give the group a password of at most 8 characters")
        return None
    source, value = given
    if version != 2:
        raise ConfigError(source, f"VRRPv{version} has no authentication: keepalived would ignore the password",
                          f"remove it, or set {settings.vip_group.setting('vrrpVersion')} 2")
    if isinstance(value, str) and len(value) > VRRP_V2_PASSWORD_CHARS:
        raise ConfigError(source, f"VRRPv2 uses only the first {VRRP_V2_PASSWORD_CHARS} characters of the password",
                          f"use a password of at most {VRRP_V2_PASSWORD_CHARS} characters")
    return one_line(given, VRRP_PASSWORD.what, IN_KEEPALIVED_CONF)


def checked_registry_secrets(settings: RegistrySettings, *, s3_access_key: Given, s3_secret_key: Given,
                             users: tuple[str, Any], tls_cert: tuple[str, str], tls_key: Given,
                             http_secret: Given | None, vrrp_password: Given | None) -> RegistrySecrets:
    """The registry's secrets, each given with the setting it came from, checked against what consumes it
    and wrapped as Pulumi secrets (the stack's and a component's inputs alike)."""
    cert, key = checked_tls(tls_cert, tls_key, settings.vrrp.vip)
    return RegistrySecrets(
        s3_access_key=one_line(s3_access_key, S3_ACCESS_KEY.what, IN_CONFIG_YML),  # type: ignore[arg-type]
        s3_secret_key=one_line(s3_secret_key, S3_SECRET_KEY.what, IN_CONFIG_YML),  # type: ignore[arg-type]
        htpasswd=_htpasswd(*users),
        tls_cert=cert,
        tls_key=key,
        http_secret=one_line(http_secret, HTTP_SECRET.what, IN_CONFIG_YML),
        vrrp_password=_vrrp_password(settings, vrrp_password),
    )


def registry_secrets(config: pulumi.Config, raw: dict[str, Any], settings: RegistrySettings) -> RegistrySecrets:
    """The stack's registry secrets: each from its `--secret` key or its file in `lxdha:registry`."""
    s3, tls = raw.get("s3") or {}, raw.get("tls") or {}
    return checked_registry_secrets(
        settings, s3_access_key=read_plain(config, S3_ACCESS_KEY, s3),  # type: ignore[arg-type]
        s3_secret_key=read_plain(config, S3_SECRET_KEY, s3),  # type: ignore[arg-type]
        users=_users(config, raw), tls_cert=stack_certificate(tls, f"{NAMESPACE}:registry.tls", settings.vrrp.vip),
        tls_key=read_plain(config, TLS_KEY, tls),  # type: ignore[arg-type]
        http_secret=read_plain(config, HTTP_SECRET, raw, required=False),
        vrrp_password=read_plain(config, VRRP_PASSWORD, raw, required=settings.vrrp.version == 2))
