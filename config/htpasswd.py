"""htpasswd (bcrypt) lines for the registry, stable across runs.

The salt is derived from the user and password, so the same users give the same file on every
`pulumi up` (no spurious diff and no re-apply), while different passwords still get different
salts. The file only ever exists on the replicas and as a Pulumi secret. It is made with the other
config readers so a user name the registry would refuse fails before anything is declared.
"""

from __future__ import annotations

import hashlib

import bcrypt

from config.checks import template_safe_problem

BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
LAST_SALT_CHARS = ".Oeu"  # the 22nd salt character carries only 2 bits
COST = 10
BCRYPT_MAX_BYTES = 72  # bcrypt hashes only the first 72 bytes of a password


def _salt(user: str, password: str) -> bytes:
    digest = hashlib.sha256(f"lxdha-htpasswd\0{user}\0{password}".encode()).digest()
    chars = [BCRYPT_ALPHABET[byte % 64] for byte in digest[:21]] + [LAST_SALT_CHARS[digest[21] % 4]]
    return f"$2b${COST:02d}${''.join(chars)}".encode()


def user_problem(user: str) -> str | None:
    """Why the registry could not log `user` in, or None. Its htpasswd reader trims each line, skips lines
    that start with '#' and splits user from hash at the first ':' (which HTTP basic auth also reserves);
    the file reaches the replicas as an Ansible variable."""
    if not user or ":" in user or any(c.isspace() or not c.isprintable() for c in user) or len(user) > 64:
        return f"user name {user!r} must be 1-64 visible characters without ':' or spaces"
    if user.startswith("#"):
        return f"user name {user!r} starts with '#': the registry reads that htpasswd line as a comment"
    problem = template_safe_problem(user)
    return f"user name {user!r} {problem}" if problem else None


def password_problem(user: str, password: object) -> str | None:
    """Why `password` cannot be `user`'s, or None (never echoes it): bcrypt uses only its first 72 bytes."""
    if not password:
        return f"user {user!r} has an empty password"
    if len(str(password).encode()) > BCRYPT_MAX_BYTES:
        return (f"user {user!r} has a password longer than {BCRYPT_MAX_BYTES} bytes: bcrypt ignores the rest, so "
                "any password with the same start would log in")
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
