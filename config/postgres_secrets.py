"""The database's secret inputs: its users' passwords, Patroni's REST API password, the TLS key, and the
backup S3 keys. Each from its `--secret` key or from a file inside `lxdha:postgres`; every one is
required (a missing one fails at preview naming both places), checked, and wrapped as a Pulumi secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from config.postgres import KEY, PostgresSettings
from config.secret_values import Secret, read_one_line, server_tls

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
SECRET_KEYS = tuple(secret.secret_key for secret in (SUPERUSER, REPLICATION, REWIND, REST_API, APP, TLS_KEY,
                                                      S3_ACCESS_KEY, S3_SECRET_KEY))


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


def postgres_secrets(config: pulumi.Config, raw: dict[str, Any], settings: PostgresSettings) -> PostgresSecrets:
    s3 = (raw.get("backup") or {}).get("s3") or {}
    cert, key = server_tls(config, raw.get("tls") or {}, f"{KEY}.tls", TLS_KEY, settings.haproxy.vip_group.vrrp.vip)

    def password(secret: Secret) -> pulumi.Output[str]:
        return read_one_line(config, secret, raw, IN_PATRONI_YAML)

    return PostgresSecrets(
        superuser_password=password(SUPERUSER), replication_password=password(REPLICATION),
        rewind_password=password(REWIND), rest_api_password=password(REST_API), app_password=password(APP),
        tls_cert=cert, tls_key=key,
        s3_access_key=read_one_line(config, S3_ACCESS_KEY, s3), s3_secret_key=read_one_line(config, S3_SECRET_KEY, s3),
        s3_ca=open(settings.backup.ca_file).read() if settings.backup.ca_file else "")
