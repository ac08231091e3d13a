"""A restore target is checked against the source's backups: none, or a time before the first one ended,
is refused naming the setting and the earliest time it can take."""

from __future__ import annotations

import pytest

from cluster.errors import ConfigError
from config.backup_catalog import check_restore_time, info_key, parse_backup_info
from config.postgres import RestoreSettings

# as pgBackRest 2.45 writes it (fields trimmed to what is read, plus one it ignores)
BACKUP_INFO = """[backrest]
backrest-format=5

[backup:current]
20261206-013201F={"backup-error":false,"backup-timestamp-start":1796520721,"backup-timestamp-stop":1796520786,"backup-type":"full"}
20261206-020000F={"backup-error":true,"backup-timestamp-start":1796522000,"backup-timestamp-stop":1796522100,"backup-type":"full"}
20261207-010000F_20261207-020000I={"backup-timestamp-start":1796608800,"backup-timestamp-stop":1796608860,"backup-type":"incr"}

[db]
db-version="15"
"""


def test_backups_are_read_oldest_first_without_failed_ones() -> None:
    backups = parse_backup_info(BACKUP_INFO)
    assert [b.label for b in backups] == ["20261206-013201F", "20261207-010000F_20261207-020000I"]
    assert backups[0].stopped.isoformat() == "2026-12-06T01:33:06+00:00"


def test_a_time_after_the_first_backup_passes() -> None:
    check_restore_time(RestoreSettings("/pg-old", "pg", "2026-12-06 01:40:00+00"), parse_backup_info(BACKUP_INFO),
                       "s3://b/pg-old")


def test_a_time_before_the_first_backup_names_the_setting_and_the_earliest_time() -> None:
    with pytest.raises(ConfigError) as caught:
        check_restore_time(RestoreSettings("/pg-old", "pg", "2026-12-06 01:30:00+00"),
                           parse_backup_info(BACKUP_INFO), "s3://b/pg-old")
    assert caught.value.field == "lxdha:postgres.restore.time"
    assert "2026-12-06 01:33:06+00" in str(caught.value)


def test_no_backup_at_the_path_names_the_path() -> None:
    with pytest.raises(ConfigError) as caught:
        check_restore_time(RestoreSettings("/pg-typo", "pg", "2026-12-06 01:40:00+00"), [], "s3://b/pg-typo")
    assert caught.value.field == "lxdha:postgres.restore.path" and "s3://b/pg-typo" in str(caught.value)


def test_the_catalog_key_is_where_pgbackrest_writes_it() -> None:
    assert info_key("/pg-old", "pg") == "pg-old/backup/pg/backup.info"
