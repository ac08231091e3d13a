"""Reads files named by stack config, failing with the config key at fault."""

from __future__ import annotations

from pathlib import Path

from cluster.errors import ConfigError


def read_config_file(field: str, path: str) -> str:
    """Content of `path`; `field` is the full config key (e.g. `lxd:clientKeyFile`) named on error."""
    try:
        return Path(path).expanduser().read_text()
    except OSError as error:
        raise ConfigError(field, f"cannot read {path} ({error.strerror})",
                          "point it at an existing file, or set the inline value instead") from error
