"""Secret-holding temp dirs: a run killed before its cleanup leaves keys behind; the next one removes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cluster.private_dirs import private_dir, sweep_orphans

PREFIX = "lxdha-test-"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_dead_runs_dir_is_removed_and_live_or_foreign_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / f"{PREFIX}{_dead_pid()}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    legacy = tmp_path / f"{PREFIX}nopid"  # no creator in the name: not ours to judge
    other = tmp_path / f"lxdha-other-{_dead_pid()}-x"
    for path in (dead, live, legacy, other):
        path.mkdir()
        (path / "id_key").write_text("secret")
    assert sweep_orphans(PREFIX, tmp_path) == [dead]
    assert not dead.exists() and live.exists() and legacy.exists() and other.exists()


def test_a_new_dir_names_its_creator_is_private_and_sweeps_first(tmp_path: Path) -> None:
    orphan = tmp_path / f"{PREFIX}{_dead_pid()}-old"
    orphan.mkdir()
    with private_dir(PREFIX, tmp_path) as made:
        path = Path(made)
        assert path.name.startswith(f"{PREFIX}{os.getpid()}-") and oct(path.stat().st_mode)[-3:] == "700"
        assert not orphan.exists()
    assert not path.exists()
