"""Writing lab outputs: secrets are created 0600 from the start (never world-readable, not even
briefly), public files 0644; both atomically so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_secret(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(path, data.encode() if isinstance(data, str) else data, 0o600)


def write_public(path: Path, data: str | bytes) -> None:
    _write(path, data.encode() if isinstance(data, str) else data, 0o644)


def read_secret(path: Path) -> str:
    return path.read_text().strip()
