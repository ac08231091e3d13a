"""The benchmark's pure parts: spread counting, same-run ratios, the generated table, the baseline
bootstrap script. Nothing here times anything."""

from __future__ import annotations

from pathlib import Path

from bench import report
from bench.bootstrap_script import render
from bench.ours import changed_on_noop, step_seconds
from bench.spread import counts_per_member, spread
from bench.summary import summarize
from bench.workdir import mac_for
from provisioners.bootstrap_plan import Mirror


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
    results = [_run("A", 1, 200), _run("B", 1, 50), _run("ours", 1, 60, 1),
               _run("A", 2, 100), _run("B", 2, 40), _run("ours", 2, 50, 0),
               {"approach": "ours", "n": 12, "run": 3, "error": "boom"}]
    summary = summarize(results, [12])
    at = summary["by_n"]["12"]
    assert at["ours_over_a"]["per_run"] == [0.3, 0.5]
    assert at["ours_over_b"]["per_run"] == [1.2, 1.25]
    assert at["spread"]["ours"] == [1, 0]
    assert at["errors"] == ["ours run 3: boom"]
    assert summary["targets"]["ours_over_a_at_12"]["met"] is True
    assert summary["targets"]["ours_over_b_at_12"]["met"] is True
    assert summary["targets"]["ours_spread_always"]["met"] is True


def test_table_is_generated_from_the_document(tmp_path: Path) -> None:
    results = [_run("A", 1, 200, 2), _run("B", 1, 50), _run("ours", 1, 60, 1),
               {"approach": "A", "n": 30, "run": 1, "error": "host capacity: no room", "skipped": True}]
    document = {"sizes": [12, 30], "runs": 1, "runs_at": {}, "finished": "now", "host": {"cpus": 2},
                "members": ["m1", "m2", "m3"], "floor_workers": 8, "interrupted": False,
                "registry": {"vip_failover_gap_s": None, "status": "pending"},
                "results": results, "summary": summarize(results, [12, 30])}
    text = report.render(document, tmp_path / "BENCHMARKS.md", tmp_path / "results")
    assert "| 12 | 200.0 | 50.0 | 60.0 | 0.30 | 1.20 | 2.0 | max 2 (2) | max 1 (1) |" in text
    assert "N=30: host capacity: no room" in text
    assert "](results/time_vs_n.png)" in text


def test_baseline_bootstrap_runs_the_projects_debian_plan(tmp_path: Path) -> None:
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3Nza bench\n")
    mirror = Mirror(url="http://10.91.0.30:9000/debian", signing_key="-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n")
    script = render(mirror, key)
    for step in ("point-apt-at-mirror", "apt-update", "apt-upgrade", "install-packages", "authorized-keys",
                 "configure-sshd"):
        assert f"# {step}\n" in script
    assert "read-host-key" not in script and "ssh-ed25519 AAAAC3Nza bench" in script


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
    from bench.merge import merge

    first = {"sizes": [3, 12], "runs": 2, "started": "t1", "finished": "t2", "results": [
        _run("ours", 1, 60) | {"n": 3}, {"approach": "ours", "n": 12, "run": 1, "error": "capacity", "skipped": True}]}
    second = {"sizes": [12], "runs": 1, "started": "t3", "finished": "t4", "results": [_run("ours", 1, 70)]}
    merged = merge([first, second])
    assert merged["sizes"] == [3, 12] and merged["finished"] == "t4"
    assert [(r["n"], r["session"]) for r in merged["results"]] == [(3, 1), (12, 2)]
