"""Cluster reads and clean-up for the benchmark, by name prefix only (the lab is shared)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.lxc import Lxc
from bench.spread import counts_per_member, spread

BENCH_PREFIXES = ("bna-", "bnp-", "bnb-", "bn-")
DELETE_TIMEOUT_S = 180


def instances(lxc: Lxc) -> list[dict[str, Any]]:
    return [{"name": i["name"], "location": i["location"], "status": i["status"]}
            for i in lxc.json("list", "lab:", "--fast")]


def online_members(lxc: Lxc) -> list[str]:
    return [m["server_name"] for m in lxc.json("cluster", "list", "lab:") if m["status"].lower() == "online"]


def final_spread(lxc: Lxc, prefix: str) -> tuple[int, dict[str, int]]:
    counts = counts_per_member(instances(lxc), prefix, online_members(lxc))
    return spread(counts), counts


def owned(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name.startswith(prefix) for prefix in prefixes)


def delete_prefixed(lxc: Lxc, prefixes: tuple[str, ...], workers: int = 4) -> list[str]:
    """Force-deletes our containers (names starting with one of `prefixes`); returns what failed."""
    assert all(prefix.startswith("bn") for prefix in prefixes), "only the benchmark's own prefixes"
    names = [i["name"] for i in instances(lxc) if owned(i["name"], prefixes)]

    def delete(name: str) -> str | None:
        for attempt in range(3):
            result = lxc.run("delete", "--force", f"lab:{name}", timeout=DELETE_TIMEOUT_S, check=False)
            if result.returncode == 0 or "not found" in result.stderr.lower():
                return None
            time.sleep(2 * (attempt + 1))
        return f"{name}: {result.stderr.strip()}"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [failure for failure in pool.map(delete, names) if failure]
