"""`lxdha:operations`: what an operator adds, in the stack config, to the checks and steps the operations
commands (maintenance, rebalance, host-check) take from the stack's own services."""

from __future__ import annotations

from typing import Any

from cluster.errors import ConfigError

OPERATIONS_KEY = "lxdha:operations"


def operations_settings(raw: Any) -> dict:
    """The raw `lxdha:operations` mapping (empty when unset)."""
    settings = raw or {}
    if not isinstance(settings, dict):
        raise ConfigError(OPERATIONS_KEY, "must be an object", "see docs/config.md (operations)")
    return settings
