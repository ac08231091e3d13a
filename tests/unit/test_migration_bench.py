"""The migration benchmark's judgement: replaced vs restarted vs moved containers, the checks, and its
generated section of BENCHMARKS.md (replaced in place, carried over by the main benchmark's report)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from bench.migration import report
from bench.migration.observe import ReplicaFacts, compare
from harness.lab_stacks import under_state_dir
from toolchain.pulumi_cli import STATE_DIR

BEFORE = ReplicaFacts(name="r-0", uuid="u0", created_at="t0", location="m1", status="Running", last_used_at="l0",
                      init_pid=100, init_started="5000", service_started={"docker-registry": "7", "keepalived": "8"})


def test_a_new_uuid_is_a_replacement_a_new_init_a_restart_another_member_a_move() -> None:
    same = compare({"r-0": BEFORE}, {"r-0": BEFORE})
    assert same == {"replaced": [], "restarted": [], "moved": [], "services_restarted": []}
    assert compare({"r-0": BEFORE}, {"r-0": replace(BEFORE, uuid="u1", init_pid=200)})["replaced"] == ["r-0"]
    assert compare({"r-0": BEFORE}, {})["replaced"] == ["r-0"]
    restarted = compare({"r-0": BEFORE}, {"r-0": replace(BEFORE, init_pid=200, init_started="6000")})
    assert restarted["restarted"] == ["r-0"] and restarted["replaced"] == []
    moved = compare({"r-0": BEFORE}, {"r-0": replace(BEFORE, location="m2", init_pid=300)})
    assert moved["moved"] == ["r-0"] and moved["restarted"] == ["r-0"]
    service = compare({"r-0": BEFORE}, {"r-0": replace(BEFORE, service_started={**BEFORE.service_started,
                                                                                 "keepalived": "9"})})
    assert service["services_restarted"] == ["r-0:keepalived"] and service["restarted"] == []


def _document(**changes: object) -> dict:
    document = {
        "status": "measured", "old_commit": "ceb7797", "finished": "2026-11-30T00:00:00Z", "pushed": ["a", "b"],
        "containers": {"replaced": [], "restarted": [], "moved": [], "services_restarted": []},
        "pull_loop": {"pulls": 40, "retried": 1, "failed": 0},
        "pulled_after": {"pushed": 2, "unpullable": []},
        "migrate": {"exit": 0, "up": {"result": "succeeded", "harmful": [], "seconds": 50.0, "steps": [
            {"op": "create", "type": "lxd:index/instance:Instance", "name": "r-0-instance"},
            {"op": "create", "type": "lxd:index/instance:Instance", "name": "r-1-instance"}]}},
        "second_up": {"result": "succeeded", "changes": {}},
        "seconds": {"python -m ops.migrate": 55.0}, "vip_probe": {"attempts": 900, "failures": 0, "longest_gap_s": 0},
    }
    document.update(changes)
    return document


def test_every_check_holds_only_when_measured_and_clean() -> None:
    assert report.passed(_document())
    assert report.checks(_document())["migrating up: no replace, no container delete"]["value"] == "2× create Instance"
    assert not report.passed(_document(containers={"replaced": ["r-0"], "restarted": [], "moved": []}))
    assert not report.passed(_document(pull_loop={"pulls": 40, "retried": 2, "failed": 1}))
    assert not report.passed(_document(second_up={"result": "succeeded", "changes": {"update": 1}}))
    assert not report.passed(_document(status="failed"))
    harmful = {"result": "succeeded", "harmful": [{"op": "replace"}], "steps": []}
    assert not report.passed(_document(migrate={"exit": 1, "up": harmful}))


def test_the_section_is_replaced_in_place_and_appended_when_missing(tmp_path: Path) -> None:
    first = report.section(_document())
    assert first.startswith(report.BEGIN) and first.rstrip().endswith(report.END)
    assert "| containers replaced | 0 | met |" in first
    text = report.upsert("# Benchmarks\n\ntable\n", first)
    assert text.count(report.BEGIN) == 1 and text.startswith("# Benchmarks\n\ntable\n\n")
    again = report.upsert(text + "\ntail\n", report.section(_document(pushed=["a"])))
    assert again.count(report.BEGIN) == 1 and again.endswith("\ntail\n") and "1 images pushed" in again
    assert report.stored_section(tmp_path) == ""


def test_state_paths_of_a_throw_away_stack_follow_the_state_directory() -> None:
    config = {"lxdha:ssh": {"privateKeyFile": ".state/ssh/id_ed25519"}, "keys": [".state/registry/users", "/abs"],
              "lxd:remote": "https://10.91.0.10:8443", "count": 2}
    assert under_state_dir(config) == {
        "lxdha:ssh": {"privateKeyFile": str(STATE_DIR / "ssh/id_ed25519")},
        "keys": [str(STATE_DIR / "registry/users"), "/abs"], "lxd:remote": "https://10.91.0.10:8443", "count": 2}


def test_the_upgraded_stack_file_keeps_the_running_server_and_every_other_value() -> None:
    from bench.migration.scenario import upgraded_stack_file

    text = ("encryptionsalt: v1:abc\nconfig:\n  lxd:remote: https://10.91.0.10:8443\n"
            "  lxdha:registry:\n    prefix: bnmig\n    vip: 10.91.0.243\n  lxdha:secret:\n    secure: v1:xyz\n")
    upgraded = yaml.safe_load(upgraded_stack_file(text))
    assert upgraded["config"]["lxdha:registry"] == {"prefix": "bnmig", "vip": "10.91.0.243",
                                                    "server": {"source": "distro"}}
    assert upgraded["encryptionsalt"] == "v1:abc" and upgraded["config"]["lxdha:secret"] == {"secure": "v1:xyz"}
