"""The benchmark on an Incus lab: its own section of BENCHMARKS.md beside the LXD figures, the rest kept."""

from __future__ import annotations

import json
from pathlib import Path

from bench import servers_report


def _document(server: str, b: float, ours: float) -> dict:
    return {"host": {"server": server}, "sizes": [12], "finished": "2026-12-06T08:53:07Z", "summary": {"by_n": {"12": {
        "wall_s": {"B": {"median": b}, "ours": {"median": ours}}, "ours_over_b": {"median": round(ours / b, 3)},
        "noop_up_s": {"median": 2.6}}}}}


def test_the_incus_section_sits_beside_the_lxd_figures_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps(_document("lxd", 77.4, 25.6)))
    (tmp_path / "incus.json").write_text(json.dumps(_document("incus", 75.9, 20.1)))
    table = tmp_path / "BENCHMARKS.md"
    table.write_text("# Benchmarks\n\nthe main table\n")
    servers_report.write(table, tmp_path)
    servers_report.write(table, tmp_path)  # a second run replaces its section, it does not add one
    text = table.read_text()
    assert text.startswith("# Benchmarks\n\nthe main table\n") and text.count(servers_report.MARKERS.begin) == 1
    assert "| LXD 5.0 | 77.4 | 25.6 | 0.33 | 2.6 |" in text and "| Incus 6.0 | 75.9 | 20.1 | 0.27 | 2.6 |" in text


def test_no_section_until_a_run_on_incus(tmp_path: Path) -> None:
    assert servers_report.stored_section(tmp_path) == ""
