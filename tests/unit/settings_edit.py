"""A copy of a settings mapping with one setting changed, for bad-input tables."""

from __future__ import annotations

import copy
from typing import Any


def with_setting(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`raw` with the setting at `path` (dotted; a list entry by its index) set to `value`, or removed when
    `value` is None."""
    raw = copy.deepcopy(raw)
    node: Any = raw
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return raw
