"""The PostgreSQL benchmark's verdict and section come from its JSON alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.postgres import report


def _document(**changes: Any) -> dict[str, Any]:
    document = {"status": "measured", "finished": "2026-12-06 03:00 UTC", "serving_s": 70.2, "lost_commits": 0,
                "pgbench": {"vip_tps": 950.0, "direct_tps": 1000.0, "overhead_pct": 5.0, "scale": 10, "clients": 4,
                            "seconds": 20, "rounds": 2},
                "failover_default_s": 23.2, "failover_fast_s": 22.1, "switchover_s": 1.9, "second_up_changes": {},
                "fast_timing": {"ttlS": 20, "loopWaitS": 1, "retryTimeoutS": 3}, "bake": {"seconds": 120.0},
                "default_timing": {"ttlS": 20, "loopWaitS": 2, "retryTimeoutS": 3},
                "loops": {"failover, fast timing": {"commits": 300, "acked": 200, "not_acked": 100, "lost": 0}}}
    document.update(changes)
    return document


def test_targets_met_pass() -> None:
    assert report.passed(_document())


def test_a_lost_commit_or_a_slow_failover_fails() -> None:
    assert not report.passed(_document(lost_commits=1))
    assert not report.passed(_document(failover_fast_s=30.0))
    assert not report.passed(_document(status="failed: RuntimeError: pulumi up failed"))


def test_the_section_sits_between_its_markers_and_replaces_itself(tmp_path: Path) -> None:
    first = report.section(_document())
    assert first.startswith(report.MARKERS.begin) and first.rstrip().endswith(report.MARKERS.end)
    text = report.MARKERS.replace("# Benchmarks\n\ntable\n", first)
    again = report.MARKERS.replace(text + "\ntail\n", report.section(_document(switchover_s=2.5)))
    assert again.count(report.MARKERS.begin) == 1 and "2.5 s" in again and again.endswith("\ntail\n")
    assert "default timing (ttl 20 s, loop 2 s, retry 3 s)" in first and "retry timeout (3 s)" in first
    assert report.stored_section(tmp_path) == ""
