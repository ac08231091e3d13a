"""Reads files named by stack config, failing with the config key at fault."""

from __future__ import annotations

from pathlib import Path

from cluster.errors import ConfigError


def read_config_file(field: str, path: str, base_dir: Path | None = None) -> str:
    """Content of `path` (a relative one taken from `base_dir` when given, else from the working directory);
    `field` is the full config key (e.g. `lxd:clientKeyFile`) named on error."""
    resolved = Path(path).expanduser()
    if base_dir is not None and not resolved.is_absolute():
        resolved = base_dir / resolved
    try:
        return resolved.read_text()
    except OSError as error:
        raise ConfigError(field, f"cannot read {resolved} ({error.strerror})",
                          "point it at an existing file, or set the inline value instead") from error
