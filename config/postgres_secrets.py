"""The database's secret inputs: its users' passwords, Patroni's REST API password, the TLS key, and the
backup S3 keys. Each from its `--secret` key or from a file inside `lxdha:postgres`; every one is
required (a missing one fails at preview naming both places), checked, and wrapped as a Pulumi secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from cluster.errors import ConfigError
from config.checks import pem_certificate_problem
from config.files import read_config_file
from config.postgres import KEY, PostgresSettings
from config.secret_values import Given, Secret, checked_tls, one_line, read_plain, stack_certificate

# Patroni's config.yml holds them in double-quoted YAML strings; pgbackrest.conf reads a line to its end
IN_PATRONI_YAML = ('"\\', "Patroni's config.yml holds it in a double-quoted YAML string")
SUPERUSER = Secret("postgresSuperuserPassword", KEY, "superuserPasswordFile", "superuser password")
REPLICATION = Secret("postgresReplicationPassword", KEY, "replicationPasswordFile", "replication password")
REWIND = Secret("postgresRewindPassword", KEY, "rewindPasswordFile", "pg_rewind password")
REST_API = Secret("postgresRestApiPassword", KEY, "restApiPasswordFile", "Patroni REST API password")
APP = Secret("postgresAppPassword", KEY, "appPasswordFile", "application password")
TLS_KEY = Secret("postgresTlsKey", f"{KEY}.tls", "keyFile", "TLS key")
S3_ACCESS_KEY = Secret("postgresBackupS3AccessKey", f"{KEY}.backup.s3", "accessKeyFile", "backup S3 access key")
S3_SECRET_KEY = Secret("postgresBackupS3SecretKey", f"{KEY}.backup.s3", "secretKeyFile", "backup S3 secret key")
PASSWORDS = {"superuser": SUPERUSER, "replication": REPLICATION, "rewind": REWIND, "rest_api": REST_API, "app": APP}
SECRET_KEYS = tuple(secret.secret_key for secret in (*PASSWORDS.values(), TLS_KEY, S3_ACCESS_KEY, S3_SECRET_KEY))


@dataclass
class PostgresSecrets:
    superuser_password: pulumi.Output[str] = field(repr=False)
    replication_password: pulumi.Output[str] = field(repr=False)
    rewind_password: pulumi.Output[str] = field(repr=False)
    rest_api_password: pulumi.Output[str] = field(repr=False)
    app_password: pulumi.Output[str] = field(repr=False)
    tls_cert: str
    tls_key: pulumi.Output[str] = field(repr=False)
    s3_access_key: pulumi.Output[str] = field(repr=False)
    s3_secret_key: pulumi.Output[str] = field(repr=False)
    s3_ca: str  # the CA the backup S3 endpoint's certificate is checked against ("" = the system CAs)


def checked_postgres_secrets(settings: PostgresSettings, *, passwords: dict[str, Given], tls_cert: tuple[str, str],
                             tls_key: Given, s3_access_key: Given, s3_secret_key: Given,
                             s3_ca: tuple[str, str] | None) -> PostgresSecrets:
    """The database's secrets, each given with the setting it came from (`passwords` by PASSWORDS' names),
    checked against what consumes it and wrapped as Pulumi secrets (the stack's and a component's alike)."""
    cert, key = checked_tls(tls_cert, tls_key, settings.haproxy.vip_group.vrrp.vip)
    if s3_ca and pem_certificate_problem(s3_ca[1]):
        raise ConfigError(s3_ca[0], pem_certificate_problem(s3_ca[1]) or "", "give the CA (PEM) the S3 endpoint's "
                          "certificate is issued by, or leave it unset for the system CAs")
    secret = {name: one_line(passwords[name], what.what, IN_PATRONI_YAML) for name, what in PASSWORDS.items()}
    return PostgresSecrets(
        superuser_password=secret["superuser"], replication_password=secret["replication"],  # type: ignore[arg-type]
        rewind_password=secret["rewind"], rest_api_password=secret["rest_api"],  # type: ignore[arg-type]
        app_password=secret["app"], tls_cert=cert, tls_key=key,  # type: ignore[arg-type]
        s3_access_key=one_line(s3_access_key, S3_ACCESS_KEY.what),  # type: ignore[arg-type]
        s3_secret_key=one_line(s3_secret_key, S3_SECRET_KEY.what),  # type: ignore[arg-type]
        s3_ca=s3_ca[1] if s3_ca else "")


def backup_ca(settings: PostgresSettings) -> tuple[str, str] | None:
    """(its setting, the PEM) of the CA the backup S3 endpoint is checked against; None: the system CAs."""
    ca_file, setting = settings.backup.ca_file, f"{settings.key}.backup.s3.caFile"
    return (setting, read_config_file(setting, ca_file)) if ca_file else None


def postgres_secrets(config: pulumi.Config, raw: dict[str, Any], settings: PostgresSettings) -> PostgresSecrets:
    """The stack's database secrets: each from its `--secret` key or its file in `lxdha:postgres`."""
    s3, tls = (raw.get("backup") or {}).get("s3") or {}, raw.get("tls") or {}
    return checked_postgres_secrets(
        settings, passwords={name: read_plain(config, secret, raw) for name, secret in PASSWORDS.items()},  # type: ignore[misc]
        tls_cert=stack_certificate(tls, f"{KEY}.tls", settings.haproxy.vip_group.vrrp.vip),
        tls_key=read_plain(config, TLS_KEY, tls),  # type: ignore[arg-type]
        s3_access_key=read_plain(config, S3_ACCESS_KEY, s3),  # type: ignore[arg-type]
        s3_secret_key=read_plain(config, S3_SECRET_KEY, s3),  # type: ignore[arg-type]
        s3_ca=backup_ca(settings))
