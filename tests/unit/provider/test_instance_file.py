"""InstanceFile: check (one of content and sourcePath, paths, modes), diff (by content hash too: a changed
source file, a file changed inside the instance), create (directories, a missing one named), read
(drift, gone, import), update (written again), delete (gone already is fine)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from cluster.errors import StepFailed
from lxd_provider.base import Context
from lxd_provider.instance_file import InstanceFile
from lxd_provider.values import UNKNOWN
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import checker, context

FILE = InstanceFile()
FILES = r"/instances/web-0/files"

checked = checker(FILE, instance="web-0", targetPath="/etc/motd", content="hello\n")


@pytest.fixture(autouse=True)
def web_0(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m2")


def problems(ctx: Context, **news: Any) -> set[str]:
    return {prop for prop, _ in FILE.check(ctx, {"instance": "web-0", "targetPath": "/etc/motd", **news})[1]}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_check_applies_upstreams_defaults_and_names_each_bad_property(ctx: Context, tmp_path: Path) -> None:
    inputs = checked(ctx)
    assert (inputs["uid"], inputs["gid"], inputs["mode"], inputs["createDirectories"]) == (0, 0, "0755", False)
    assert problems(ctx) == {"content"}  # neither
    assert problems(ctx, content="x", sourcePath=str(tmp_path / "x")) == {"content"}  # both
    assert problems(ctx, sourcePath=str(tmp_path / "missing")) == {"sourcePath"}
    assert problems(ctx, content="x", targetPath="etc/motd", mode="rw-r--r--", uid=-1, instance="Bad_Name") == \
        {"targetPath", "mode", "uid", "instance"}
    assert problems(ctx, content="x", instance=UNKNOWN, sourcePath=None) == set()  # preview: known later


def test_diff_updates_in_place_and_replaces_on_a_new_place(ctx: Context, fake: FakeLxd, tmp_path: Path) -> None:
    fake.add_project("team-a")  # a project and an instance named must exist (checked at preview)
    fake.add_instance("web-1", "m1")
    fake.in_project("team-a").add_instance("web-0", "m2")
    olds = {**checked(ctx), "contentHash": digest("hello\n")}
    assert not FILE.diff(olds, checked(ctx, mode="755")).changes  # the same mode, spelled otherwise
    for prop, value in (("content", "bye\n"), ("mode", "0600"), ("uid", 1000), ("gid", 1000)):
        result = FILE.diff(olds, checked(ctx, **{prop: value}))
        assert list(result.detailed) == [prop] and not result.replaces, prop
    for prop, value in (("instance", "web-1"), ("targetPath", "/etc/issue"), ("project", "team-a")):
        assert FILE.diff(olds, checked(ctx, **{prop: value})).replaces == [prop]


def test_a_changed_source_file_is_a_diff_on_source_path(ctx: Context, tmp_path: Path) -> None:
    source = tmp_path / "motd"
    source.write_text("hello\n")
    inputs = checked(ctx, content=None, sourcePath=str(source))
    _, state = FILE.create(ctx, inputs)
    assert not FILE.diff(state, inputs).changes
    source.write_text("changed\n")
    assert list(FILE.diff(state, inputs).detailed) == ["sourcePath"]


def test_whole_life_and_drift_inside_the_instance(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, mode="0644", uid=1000)
    fake.fail("POST", FILES, kind="lost")
    file_id, state = FILE.create(ctx, inputs)
    assert file_id == "web-0:/etc/motd" and state["contentHash"] == digest("hello\n")
    written = fake.files[("web-0", "/etc/motd")]
    assert (written["content"], written["mode"], written["uid"]) == (b"hello\n", "0644", 1000)
    found, outputs, live = FILE.read(ctx, file_id, state, inputs)
    assert found == file_id and not FILE.diff(outputs, inputs).changes
    written.update(content=b"edited by hand\n", mode="0600")
    found, outputs, live = FILE.read(ctx, file_id, state, inputs)
    assert set(FILE.diff(outputs, inputs).detailed) == {"content", "mode"}  # refresh shows it, up writes it again
    assert FILE.update(ctx, file_id, outputs, inputs)["contentHash"] == digest("hello\n")
    assert (written_again := fake.files[("web-0", "/etc/motd")])["content"] == b"hello\n" and \
        written_again["mode"] == "0644"
    FILE.delete(ctx, file_id, state)
    FILE.delete(ctx, file_id, state)  # gone already: fine
    assert ("web-0", "/etc/motd") not in fake.files and FILE.read(ctx, file_id, state, inputs)[0] is None


def test_directories_are_made_when_asked_and_named_when_missing(ctx: Context, fake: FakeLxd) -> None:
    with pytest.raises(StepFailed) as raised:
        FILE.create(ctx, checked(ctx, targetPath="/srv/app/conf/app.ini"))
    assert "instance web-0: has no directory /srv/app/conf" in str(raised.value)
    assert "Fix: set createDirectories: true" in str(raised.value)
    FILE.create(ctx, checked(ctx, targetPath="/srv/app/conf/app.ini", createDirectories=True))
    assert [fake.files[("web-0", d)]["type"] for d in ("/srv", "/srv/app", "/srv/app/conf")] == ["directory"] * 3
    assert fake.files[("web-0", "/srv/app/conf/app.ini")]["content"] == b"hello\n"


def test_import_reads_the_file_and_a_missing_instance_is_gone(ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("team-a")
    team = fake.in_project("team-a")
    team.add_instance("db-0", "m1")
    team.files[("db-0", "/etc/motd")] = {"type": "file", "content": b"by hand\n", "uid": 0, "gid": 0, "mode": "0644"}
    found, outputs, live = FILE.read(ctx, "team-a/db-0:/etc/motd", {}, {})
    assert found == "team-a/db-0:/etc/motd" and live["content"] == "by hand\n" and live["project"] == "team-a"
    assert FILE.check(ctx, live)[1] == [] and not FILE.diff(outputs, FILE.check(ctx, live)[0]).changes
    assert FILE.read(ctx, "team-a/nowhere:/etc/motd", {}, {})[0] is None
    FILE.delete(ctx, "team-a/nowhere:/etc/motd", {})
    with pytest.raises(StepFailed, match="is not \\[<project>/\\]<instance>:<targetPath>"):
        FILE.read(ctx, "web-0/etc/motd", {}, {})


def test_on_incus_the_owner_and_mode_travel_in_its_own_headers() -> None:
    """Incus answers a file's owner and mode in X-Incus-* headers only: read as X-LXD-*, every file would show
    drift (mode 0000, owner root)."""
    fake = FakeLxd.cluster(server="incus")
    fake.add_instance("web-0", "m2")
    ctx = context(fake)
    inputs = checked(ctx, mode="0600", uid=1000)
    file_id, state = FILE.create(ctx, inputs)
    found, outputs, live = FILE.read(ctx, file_id, state, inputs)
    assert (live["mode"], live["uid"]) == ("0600", 1000) and not FILE.diff(outputs, inputs).changes
