"""Final spread: how unevenly the benchmark's own containers ended up across ONLINE members."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def bench_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{index}" for index in range(count)]


def counts_per_member(instances: Iterable[dict[str, Any]], prefix: str, members: Iterable[str]) -> dict[str, int]:
    """Counts only `<prefix>-<number>` (not other engineers' containers, not other approaches')."""
    pattern = re.compile(rf"^{re.escape(prefix)}-\d+$")
    counts = {member: 0 for member in members}
    for instance in instances:
        if pattern.match(instance["name"]):
            counts[instance["location"]] = counts.get(instance["location"], 0) + 1
    return counts


def spread(counts: dict[str, int]) -> int:
    """max - min over members (members with none count as 0): 0 or 1 means even."""
    return max(counts.values()) - min(counts.values()) if counts else 0
