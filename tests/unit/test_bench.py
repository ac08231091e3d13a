"""The benchmark's pure parts: spread counting, same-run ratios, the generated table, the baseline
bootstrap script. Nothing here times anything."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bench import plots, report
from bench.bake import bake_overrides
from bench.baselines import _in_flight
from bench.bootstrap_script import render
from bench.engine_events import step_seconds
from bench.merge import merge
from bench.ours import changed_on_noop
from bench.spread import counts_per_member, spread
from bench.summary import summarize
from bench.workdir import mac_for
from provisioners.bootstrap_plan import Mirror
from tests.support.certs import TEST_PUBLIC_KEY


def test_spread_counts_only_the_prefix_and_includes_empty_members() -> None:
    instances = [{"name": "bn-0", "location": "m1"}, {"name": "bn-1", "location": "m1"},
                 {"name": "bna-0", "location": "m2"}, {"name": "bn-x", "location": "m3"},
                 {"name": "app-0", "location": "m2"}]
    counts = counts_per_member(instances, "bn", ["m1", "m2", "m3"])
    assert counts == {"m1": 2, "m2": 0, "m3": 0}
    assert spread(counts) == 2


def _run(approach: str, run: int, wall: float, spread_: int = 0) -> dict:
    return {"approach": approach, "n": 12, "run": run, "wall_s": wall, "spread": spread_, "noop_up_s": 2.0,
            "noop_changes": {"same": 40}}


def test_ratios_pair_runs_and_targets_use_them() -> None:
    results = [_run("A", 1, 200), _run("Ap", 1, 150), _run("B", 1, 100), _run("ours", 1, 45, 1),
               _run("A", 2, 100), _run("Ap", 2, 200), _run("B", 2, 80), _run("ours", 2, 50, 0),
               {"approach": "ours", "n": 12, "run": 3, "error": "boom"}]
    summary = summarize(results, [12], {"serving_s": 31.0})
    at = summary["by_n"]["12"]
    assert at["ours_over_a"]["per_run"] == [0.225, 0.5]
    assert at["ours_over_ap"]["per_run"] == [0.3, 0.25]
    assert at["ours_over_b"]["per_run"] == [0.45, 0.625]
    assert at["spread"]["ours"] == [1, 0]
    assert at["errors"] == ["ours run 3: boom"]
    targets = summary["targets"]
    assert targets["ours_over_ap_at_12"]["met"] is True and targets["ours_over_ap_at_12"]["value"] == 0.275
    assert targets["ours_over_b_at_12"]["met"] is False  # median 0.5375 > 0.5
    assert targets["ours_spread_always"]["met"] is True
    assert targets["registry_empty_to_serving_s"] == {"value": 31.0, "target": "<= 30.0", "met": False}
    assert targets["noop_up_s_median_at_12"] == {"value": 2.0, "target": "<= 3.0", "met": True}
    assert targets["n30_measured"]["met"] is False, "N=30 was not measured"


def test_targets_not_measured_are_not_met_or_missed() -> None:
    targets = summarize([_run("A", 1, 200)], [12])["targets"]
    assert targets["ours_over_ap_at_12"]["met"] is None
    assert targets["registry_empty_to_serving_s"]["met"] is None


def test_the_noop_target_is_at_12_and_n30_is_shown_beside_it_as_measured_only(tmp_path) -> None:
    results = [_run("ours", 1, 40), _run("ours", 1, 90) | {"n": 30, "noop_up_s": 4.5}]
    document = _document(results, [12, 30])
    targets = document["summary"]["targets"]
    assert targets["noop_up_s_median_at_12"] == {"value": 2.0, "target": "<= 3.0", "met": True}
    assert targets["noop_up_s_median_at_30"] == {"value": 4.5, "target": "<= 3.0", "met": False,
                                                 "measured_only": True}
    table = report.render(document, tmp_path / "BENCHMARKS.md", tmp_path)
    assert "| noop up s median at 30 <= 3.0 | 4.5 | over; measured only (the targets are at N=12) |" in table
    assert "NOT met" not in table.split("| noop up s median at 30")[1].splitlines()[0]


def test_the_noop_figure_is_over_every_sample_of_every_run() -> None:
    results = [_run("ours", 1, 40) | {"noop_up_s": 2.6, "noop_samples_s": [2.6, 3.4, 2.5]},
               _run("ours", 2, 41) | {"noop_up_s": 2.9, "noop_samples_s": [2.9, 2.8, 3.1]}]
    stats = summarize(results, [12])["by_n"]["12"]["noop_up_s"]
    assert stats == {"median": 2.85, "min": 2.5, "max": 3.4, "runs": 6}


def test_measure_times_the_noop_several_times_and_keeps_any_change_it_saw(monkeypatch) -> None:
    from bench import ours

    ups = iter([(30.0, {"resourceChanges": {"create": 60}, "durationSeconds": 29}, []),
                (3.1, {"resourceChanges": {"same": 60}}, []),
                (2.7, {"resourceChanges": {"same": 59, "update": 1}}, [_pre("update", "urn:x::bn-0", 1, ["k"])]),
                (2.9, {"resourceChanges": {"same": 60}}, [])])
    monkeypatch.setattr(ours, "_timed_up", lambda _cli: next(ups))
    monkeypatch.setattr(ours, "step_seconds", lambda _events: {})
    result = ours.measure(object(), lambda: 0.0)
    assert result.noop_samples_s == [3.1, 2.7, 2.9] and result.noop_up_s == 2.9
    assert result.noop_changes == {"same": 59, "update": 1}
    assert result.noop_updates == ["update bn-0 ['k']"]


def test_n30_counts_as_measured_once_every_approach_ran_there() -> None:
    results = [_run(a, 1, 100) | {"n": 30} for a in ("A", "Ap", "B", "ours")]
    assert summarize(results, [30])["targets"]["n30_measured"]["met"] is True


def _document(results: list[dict], sizes: list[int], **extra: object) -> dict:
    document = {"sizes": sizes, "runs": 1, "runs_at": {}, "finished": "now", "host": {"cpus": 2},
                "members": ["m1", "m2", "m3"], "floor_workers": 8, "seed_workers": 10, "interrupted": False,
                "registry": {"vip_failover_gap_s": None, "status": "pending"}, "results": results, **extra}
    document["summary"] = summarize(results, sizes, document["registry"])
    return document


def test_table_is_generated_from_the_document(tmp_path: Path) -> None:
    results = [_run("A", 1, 200, 2), _run("Ap", 1, 120, 3), _run("B", 1, 50), _run("ours", 1, 60, 1),
               {"approach": "A", "n": 30, "run": 1, "error": "host capacity: no room", "skipped": True}]
    document = _document(results, [12, 30], bake={"seconds": 71.4, "fingerprint": "f" * 64, "reused": False},
                         registry={"bake_s": 80.0, "up_s": 20.5, "serving_s": 21.3, "vip_failover_gap_s": 0.9,
                                   "status": "hard stop of the MASTER replica (bnreg-0); 3 failed probes",
                                   "steps": {"instance": [4, 6], "configure": [9, 11]}})
    text = report.render(document, tmp_path / "BENCHMARKS.md", tmp_path / "results")
    assert ("| 12 | 200.0 | 120.0 | 50.0 | 60.0 | 0.30 | 0.50 | 1.20 | 2.0 | max 2 (2) | max 3 (3) | max 1 (1) |"
            in text)
    assert "**A∥** - the same flow with 10 containers in flight" in text
    assert "ours' baked image: baked in 71.4 s" in text
    assert "empty cluster -> serving through the VIP in 21.3 s" in text and "baked beforehand in 80.0 s" in text
    assert "(`pulumi up` 20.5 s; slowest step of each kind, s: instance 6, configure 11)" in text
    assert "| registry empty to serving s <= 30.0 | 21.3 | met |" in text
    assert "N=30: host capacity: no room" in text
    assert "](results/time_vs_n.png)" in text


def test_a_bake_that_reused_an_image_is_not_reported_as_a_bake_time(tmp_path: Path) -> None:
    document = _document([_run("ours", 1, 60)], [12], bake={"seconds": 2.0, "fingerprint": "f", "reused": True})
    assert "ours' baked image: not measured." in report.render(document, tmp_path / "B.md", tmp_path)


def test_plots_draw_every_approach(tmp_path: Path) -> None:
    document = _document([_run(a, 1, 100) for a in ("A", "Ap", "B", "ours")], [12])
    for draw, name in ((plots.time_vs_n, "t.png"), (plots.spread_histogram, "s.png")):
        assert draw(document, tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_baseline_bootstrap_runs_the_projects_debian_plan(tmp_path: Path) -> None:
    key = tmp_path / "id.pub"
    key.write_text(TEST_PUBLIC_KEY + "\n")
    mirror = Mirror(url="http://10.91.0.30:9000/debian", signing_key="-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n")
    script = render(mirror, key)
    for step in ("point-apt-at-mirror", "apt-update", "apt-upgrade", "install-packages", "access"):
        assert f"# {step}\n" in script
    assert TEST_PUBLIC_KEY in script


def test_macs_are_fixed_per_name() -> None:
    assert mac_for("bna-1") == mac_for("bna-1") != mac_for("bnb-1")
    assert mac_for("bna-1").startswith("00:16:3e:")


def _pre(op: str, urn: str, ts: int, diffs: list[str] | None = None) -> dict:
    return {"timestamp": ts, "resourcePreEvent": {"metadata": {"op": op, "urn": urn, "diffs": diffs}}}


def _out(op: str, urn: str, ts: int) -> dict:
    return {"timestamp": ts, "resOutputsEvent": {"metadata": {"op": op, "urn": urn}}}


def test_step_seconds_and_noop_changes_from_engine_events() -> None:
    urn = "urn:pulumi:s::p::lxdha:index:BalancedContainer$pulumi-python:dynamic:Resource::bn-0-instance"
    events = [{"timestamp": 100}, _pre("create", urn, 101), _out("create", urn, 131)]
    assert step_seconds(events) == {"instance": [30], "first-step-after-start": [1]}
    assert changed_on_noop([_pre("same", urn, 1), _pre("update", urn, 2, ["owner"])]) == [
        "update bn-0-instance ['owner']"]


def test_merge_keeps_sessions_apart_and_drops_refusals_measured_later() -> None:
    first = {"sizes": [3, 12], "runs": 2, "started": "t1", "finished": "t2", "results": [
        _run("ours", 1, 60) | {"n": 3}, {"approach": "ours", "n": 12, "run": 1, "error": "capacity", "skipped": True}]}
    second = {"sizes": [12], "runs": 1, "started": "t3", "finished": "t4", "results": [_run("ours", 1, 70)]}
    merged = merge([first, second])
    assert merged["sizes"] == [3, 12] and merged["finished"] == "t4"
    assert [(r["n"], r["session"]) for r in merged["results"]] == [(3, 1), (12, 2)]


def test_merge_keeps_every_sessions_bake_and_the_latest_registry() -> None:
    registry = {"serving_s": 22.0, "vip_failover_gap_s": 0.8, "status": "ok"}
    first = {"sizes": [12], "runs": 1, "started": "t1", "finished": "t2", "results": [], "registry": registry,
             "bake": {"seconds": 70.0, "fingerprint": "a", "reused": False}}
    second = {"sizes": [30], "runs": 1, "started": "t3", "finished": "t4", "results": [],
              "registry": {"serving_s": None, "vip_failover_gap_s": None, "status": "not measured (--no-registry)"},
              "bake": {"seconds": 75.0, "fingerprint": "b", "reused": False}}
    merged = merge([first, second])
    assert [b["seconds"] for b in merged["bakes"]] == [70.0, 75.0] and "bake" not in merged
    assert merged["registry"] == registry
    assert [b["fingerprint"] for b in merge([merged, first])["bakes"]] == ["a", "b", "a"]


def test_seed_flows_in_flight_keep_order_and_stop_starting_after_a_failure() -> None:
    started: list[str] = []
    lock = threading.Lock()

    def one(name: str) -> str:
        with lock:
            started.append(name)
        time.sleep(0.01 * (5 - int(name)))
        return f"done {name}"

    assert _in_flight([str(i) for i in range(5)], one, 3) == [f"done {i}" for i in range(5)]

    def failing(name: str) -> str:
        with lock:
            started.append(name)
        time.sleep(0.02)
        raise RuntimeError(name)

    started.clear()
    with pytest.raises(RuntimeError, match="0"):
        _in_flight([str(i) for i in range(20)], failing, 1)
    assert len(started) < 20, "a serial run stops at its first failure"


def test_bake_stack_bakes_only() -> None:
    overrides = bake_overrides("bench-x", ("keepalived",))
    assert overrides["lxdha:image"]["bake"] is True and overrides["lxdha:image"]["bakePackages"] == ["keepalived"]
    assert overrides["lxdha:image"]["alias"] == "debian/bench-x"
    assert overrides["lxdha:containers"]["count"] == 0 and "lxdha:registry" not in overrides
