"""`make bench` at its smallest on the real lab: the four approaches run (ours on an image baked once
beforehand), and the JSON, PNG plots and table are produced. Timings are reported by the benchmark
itself, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.capacity import room_for
from bench.cluster import BENCH_PREFIXES
from bench.servers_report import result_file
from lab.info import LabInfo
from tests.conftest import require
from toolchain.pulumi_cli import ROOT

pytestmark = pytest.mark.integration


def test_bench_smoke_n2(lab: LabInfo, tmp_path: Path) -> None:
    require(room_for() >= 2, "the host has no room for 2 more containers (fs.inotify.max_user_instances)")
    table = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "-m", "bench", "--sizes", "2", "--runs", "1", "--no-registry",
                           "--out", str(tmp_path), "--table", str(table)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    server = lab.data["lxd"]["server"]  # another server than LXD: <server>.json and its section, no plots
    document = json.loads((tmp_path / ("results.json" if server == "lxd" else result_file(server))).read_text())
    assert {r["approach"] for r in document["results"] if "error" not in r} == {"A", "Ap", "B", "ours"}
    assert document["bake"]["seconds"] > 0 and "error" not in document["bake"]
    for png in ("time_vs_n.png", "spread_hist.png") if server == "lxd" else ():
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ours = next(r for r in document["results"] if r["approach"] == "ours")
    assert ours["spread"] <= 1 and sum(ours["counts"].values()) == 2
    assert not set(ours["noop_changes"]) - {"same"}, "a second `pulumi up` changed something"
    assert len(ours["noop_samples_s"]) == 3 and ours["noop_up_s"] in ours["noop_samples_s"]
    assert document["registry"]["serving_s"] is None  # --no-registry
    assert ("| 2 |" if server == "lxd" else "N = 2:") in table.read_text()
    leftovers = [i.name for i in lab.lxd_client().instances.all() if i.name.startswith(BENCH_PREFIXES)]
    assert leftovers == [], f"the benchmark left containers behind: {leftovers}"
    fingerprints = {i["fingerprint"] for i in lab.lxd_client().api.images.get(params={"recursion": "1"}).json()[
        "metadata"]}
    if not document["bake"]["reused"]:  # an image another stack baked from the same plan is that stack's
        assert document["bake"]["fingerprint"] not in fingerprints, "the session's baked image outlived it"
