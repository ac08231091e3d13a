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
from config.checks import key_pair_problem, one_token_problem, server_certificate_problem
from config.files import read_config_file
from config.htpasswd import htpasswd_lines, parse_users_file, password_problem, user_problem
from config.registry import RegistrySettings
from config.site import inline_or_file

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


def _plain(config: pulumi.Config, key: str, section: dict[str, Any], file_field: str, where: str,
           required: bool = True) -> tuple[str, str] | None:
    """(the key it came from, value) of a secret given inline or as a file; None when optional and unset."""
    inline = config.get(key)
    if inline:
        return f"{NAMESPACE}:{key}", inline
    path = section.get(file_field)
    if path:
        source = f"{NAMESPACE}:registry.{where}"
        return source, read_config_file(source, str(path)).strip()
    if not required:
        return None
    raise ConfigError(f"{NAMESPACE}:{key}", "is not set",
                      f"pulumi config set --secret {NAMESPACE}:{key} <value>, or set {NAMESPACE}:registry.{where}")


def _token(source_and_value: tuple[str, str] | None, what: str,
           refused: tuple[str, str] = IN_CONFIG_YML) -> pulumi.Output[str] | None:
    """A one-line secret (S3 key, shared secret, password) as a Pulumi secret, checked for paste mistakes
    and for characters the file it is written into cannot hold (`refused`: the characters, and why)."""
    if source_and_value is None:
        return None
    source, value = source_and_value
    problem = one_token_problem(value, what, *refused)
    if problem:
        raise ConfigError(source, problem, f"set the {what} alone, on one line, without those characters")
    return pulumi.Output.secret(value)


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


def _tls(config: pulumi.Config, tls: dict[str, Any], vip: str) -> tuple[str, pulumi.Output[str]]:
    cert = inline_or_file(tls, "cert", "registry.tls")
    cert_source = f"{NAMESPACE}:registry.tls.{'cert' if tls.get('cert') else 'certFile'}"
    if not cert:
        raise ConfigError(f"{NAMESPACE}:registry.tls.certFile", "no TLS certificate for the VIP",
                          "set registry.tls.certFile (PEM, with the VIP as a subject alternative name)")
    problem = server_certificate_problem(cert, vip)
    if problem:
        raise ConfigError(cert_source, problem, f"issue the registry certificate with {vip} as an IP SAN")
    key_source, key = _plain(config, "registryTlsKey", tls, "keyFile", "tls.keyFile")  # type: ignore[misc]
    problem = key_pair_problem(cert, key)
    if problem:
        raise ConfigError(key_source, problem, f"give the private key of the certificate in {cert_source}")
    return cert, pulumi.Output.secret(key)


def registry_secrets(config: pulumi.Config, raw: dict[str, Any], settings: RegistrySettings) -> RegistrySecrets:
    s3 = raw.get("s3") or {}
    cert, key = _tls(config, raw.get("tls") or {}, settings.vrrp.vip)
    vrrp_password = _plain(config, "registryVrrpPassword", raw, "vrrpPasswordFile", "vrrpPasswordFile",
                           required=settings.vrrp.version == 2)
    if vrrp_password and settings.vrrp.version != 2:
        raise ConfigError(vrrp_password[0], f"VRRPv{settings.vrrp.version} has no authentication: keepalived "
                          "would ignore the password", "remove it, or set lxdha:registry.vrrpVersion 2")
    if vrrp_password and len(vrrp_password[1]) > VRRP_V2_PASSWORD_CHARS:
        raise ConfigError(vrrp_password[0], f"VRRPv2 uses only the first {VRRP_V2_PASSWORD_CHARS} characters of "
                          "the password", f"use a password of at most {VRRP_V2_PASSWORD_CHARS} characters")
    return RegistrySecrets(
        s3_access_key=_token(_plain(config, "registryS3AccessKey", s3, "accessKeyFile", "s3.accessKeyFile"),
                             "S3 access key"),  # type: ignore[arg-type]
        s3_secret_key=_token(_plain(config, "registryS3SecretKey", s3, "secretKeyFile", "s3.secretKeyFile"),
                             "S3 secret key"),  # type: ignore[arg-type]
        htpasswd=pulumi.Output.secret(htpasswd_lines(_users(config, raw))),
        tls_cert=cert,
        tls_key=key,
        http_secret=_token(_plain(config, "registryHttpSecret", raw, "httpSecretFile", "httpSecretFile",
                                  required=False), "registry http secret"),
        vrrp_password=_token(vrrp_password, "VRRP password", IN_KEEPALIVED_CONF),
    )
