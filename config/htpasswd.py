"""htpasswd (bcrypt) lines for the registry, stable across runs.

The salt is derived from the user and password, so the same users give the same file on every
`pulumi up` (no spurious diff and no re-apply), while different passwords still get different
salts. The file only ever exists on the replicas and as a Pulumi secret. It is made with the other
config readers so a user name the registry would refuse fails before anything is declared.
"""

from __future__ import annotations

import hashlib

import bcrypt

BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
LAST_SALT_CHARS = ".Oeu"  # the 22nd salt character carries only 2 bits
COST = 10


def _salt(user: str, password: str) -> bytes:
    digest = hashlib.sha256(f"lxdha-htpasswd\0{user}\0{password}".encode()).digest()
    chars = [BCRYPT_ALPHABET[byte % 64] for byte in digest[:21]] + [LAST_SALT_CHARS[digest[21] % 4]]
    return f"$2b${COST:02d}${''.join(chars)}".encode()


def user_problem(user: str) -> str | None:
    if not user or ":" in user or any(c.isspace() for c in user) or len(user) > 64:
        return f"user name {user!r} must be 1-64 characters without ':' or spaces"
    return None


def htpasswd_lines(users: dict[str, str]) -> str:
    """`user:bcrypt-hash` lines, sorted by user."""
    lines = []
    for user in sorted(users):
        problem = user_problem(user)
        if problem:
            raise ValueError(problem)
        hashed = bcrypt.hashpw(users[user].encode(), _salt(user, users[user])).decode()
        lines.append(f"{user}:{hashed}")
    return "\n".join(lines) + "\n"


def parse_users_file(text: str) -> dict[str, str]:
    """`user:password` lines (comments and blank lines ignored) as a mapping."""
    users = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not password:
            raise ValueError(f"line {number} is not user:password")
        users[user] = password
    return users
