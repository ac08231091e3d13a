"""Connections to a lab database as its clients make them: TLS with the certificate pinned, the password
passed to libpq in memory (never on a command line), short connect and TCP timeouts so a dead path fails
fast instead of hanging a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

CONNECT_TIMEOUT_S = 3
TCP_USER_TIMEOUT_MS = 5000  # unacknowledged data for this long: the path is dead (a member cut off)


@dataclass(frozen=True)
class Database:
    """Where and as whom: `host:port` is the VIP's write or read port, or one member directly."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    ca_file: Path

    def __repr__(self) -> str:  # the password stays out of logs and assertion messages
        return f"Database({self.user}@{self.host}:{self.port}/{self.dbname})"

    def connect(self, *, verify_host: bool = True) -> psycopg.Connection:
        """An autocommit connection: each statement's return is its commit's acknowledgement.

        `verify_host=False` for a member addressed directly (its DHCP address is not in the certificate);
        the certificate itself is still checked against the pinned CA."""
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.dbname, sslmode="verify-full" if verify_host else "verify-ca",
                               sslrootcert=str(self.ca_file), connect_timeout=CONNECT_TIMEOUT_S,
                               keepalives=1, keepalives_idle=2, keepalives_interval=1, keepalives_count=3,
                               tcp_user_timeout=TCP_USER_TIMEOUT_MS, autocommit=True)

    def at(self, host: str, port: int | None = None) -> Database:
        return Database(host, port or self.port, self.user, self.password, self.dbname, self.ca_file)
