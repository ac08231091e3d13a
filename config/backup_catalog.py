"""What a pgBackRest repository holds, read from its S3 bucket: the backups of a stanza (`backup.info`).

A point-in-time restore starts from a backup that ended before the target time and replays WAL forward;
there is no replaying backwards, so a target before the first backup's end cannot be reached. The stack
refuses it at preview, naming `restore.time` and the earliest time it can take, instead of creating a
cluster whose bootstrap then fails.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pulumi

from cluster.errors import ConfigError
from config.postgres import KEY, BackupSettings, PostgresSettings, RestoreSettings, parse_restore_time
from config.postgres_secrets import S3_ACCESS_KEY, S3_SECRET_KEY
from config.secret_values import read_plain

S3_TIMEOUT_S = 10


@dataclass(frozen=True)
class BackupRecord:
    label: str
    kind: str  # full | diff | incr
    stopped: datetime.datetime  # the earliest time a restore from this backup reaches


def parse_backup_info(text: str) -> list[BackupRecord]:
    """The `[backup:current]` entries of pgBackRest's backup.info, oldest first."""
    records, section = [], ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[backup:current]" and "=" in line:
            label, _, value = line.partition("=")
            fields = json.loads(value)
            if fields.get("backup-error"):
                continue  # a backup with page errors is not one pgBackRest restores from by default
            stopped = datetime.datetime.fromtimestamp(int(fields["backup-timestamp-stop"]), datetime.UTC)
            records.append(BackupRecord(label, str(fields.get("backup-type", "")), stopped))
    return sorted(records, key=lambda record: record.stopped)


def info_key(path: str, stanza: str) -> str:
    return f"{path.strip('/')}/backup/{stanza}/backup.info"


def read_backup_info(backup: BackupSettings, access_key: str, secret_key: str, path: str, stanza: str) -> str | None:
    """The stanza's backup.info at `path` in the backup bucket, or None when there is none."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("s3", endpoint_url=backup.endpoint, region_name=backup.region,
                          aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                          verify=backup.ca_file or True,
                          config=Config(s3={"addressing_style": "path"}, connect_timeout=S3_TIMEOUT_S,
                                        read_timeout=S3_TIMEOUT_S, retries={"max_attempts": 2}))
    key = info_key(path, stanza)
    try:
        return client.get_object(Bucket=backup.bucket, Key=key)["Body"].read().decode()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise ConfigError(f"{KEY}.restore.path", f"reading s3://{backup.bucket}/{key}: "
                          f"{error.response.get('Error', {}).get('Code')}",
                          "check the backup S3 keys, bucket and path") from None
    except BotoCoreError as error:
        raise ConfigError(f"{KEY}.backup.s3.endpoint", f"reading the backups: {error}",
                          "check that the endpoint answers from this machine") from None


def check_restore_time(restore: RestoreSettings, backups: list[BackupRecord], where: str) -> None:
    """Refuses a restore with no backup to start from, or a time before the first backup ended."""
    if not backups:
        raise ConfigError(f"{KEY}.restore.path", f"{where} holds no backup of stanza {restore.stanza}",
                          "name the repository path and stanza (the source cluster's name) of an existing cluster")
    target = parse_restore_time(restore.time)
    first = backups[0]
    if target is not None and target < first.stopped:
        raise ConfigError(f"{KEY}.restore.time",
                          f"{restore.time} is before the first backup ({first.label}) ended, "
                          f"at {first.stopped:%Y-%m-%d %H:%M:%S+00}: no backup can be replayed to it",
                          f"give a time from {first.stopped:%Y-%m-%d %H:%M:%S+00} on")


def check_restore_source(config: pulumi.Config, raw: dict[str, Any], settings: PostgresSettings) -> None:
    """Reads the source's catalog with the cluster's own backup keys (a restored cluster shares the bucket)."""
    restore = settings.restore
    if restore is None:
        return
    s3 = (raw.get("backup") or {}).get("s3") or {}
    access_key = read_plain(config, S3_ACCESS_KEY, s3)
    secret_key = read_plain(config, S3_SECRET_KEY, s3)
    assert access_key is not None and secret_key is not None  # required: read_plain raised otherwise
    text = read_backup_info(settings.backup, access_key[1], secret_key[1], restore.path, restore.stanza)
    check_restore_time(restore, parse_backup_info(text) if text else [],
                       f"s3://{settings.backup.bucket}{restore.path}")
