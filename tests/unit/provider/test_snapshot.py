"""Snapshot: check (stateful where the instance's record allows it), diff (everything replaces), create
(a lost answer adopted; CRIU missing named at create), read (gone, import), update, delete."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import OwnershipConflict, StepFailed
from lxd_provider.base import Context
from lxd_provider.snapshot import Snapshot
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import checker, context

SNAPSHOT = Snapshot()
PATH = r"/instances/web-0/snapshots"

checked = checker(SNAPSHOT, name="before-upgrade", instance="web-0")


@pytest.fixture(autouse=True)
def web_0(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m2")


def failures_of(ctx: Context, **news: Any) -> dict[str, str]:
    return dict(SNAPSHOT.check(ctx, {"name": "before-upgrade", "instance": "web-0", **news})[1])


def test_check_names_bad_names_and_a_stateful_snapshot_the_instance_cannot_give(ctx: Context, fake: FakeLxd) -> None:
    assert set(failures_of(ctx, name="a/b", instance="Bad_Name")) == {"name", "instance"}
    assert checked(ctx)["stateful"] is False and checked(ctx, stateful=True)["stateful"] is True
    fake.instances["web-0"]["status"] = "Stopped"
    refused = failures_of(ctx, stateful=True)["stateful"]
    assert "instance web-0 is not running" in refused and "Fix: start the instance" in refused
    fake.instances["web-0"].update(status="Running", type="virtual-machine")
    assert "migration.stateful" in failures_of(ctx, stateful=True)["stateful"]
    assert set(failures_of(ctx, instance="later", stateful=True)) == {"instance"}  # neither there nor declared
    ctx.declared.add("instance", "later", "container")
    assert failures_of(ctx, instance="later", stateful=True) == {}  # declared in the same program


def test_diff_replaces_on_every_input(ctx: Context) -> None:
    olds = {**checked(ctx), "createdAt": "2026-11-29T01:00:00Z"}
    assert not SNAPSHOT.diff(olds, checked(ctx)).changes
    for prop, value in (("name", "other"), ("instance", "web-1"), ("stateful", True), ("project", "team-a")):
        assert SNAPSHOT.diff(olds, {**olds, prop: value}).replaces == [prop]


def test_whole_life_with_a_lost_answer(ctx: Context, fake: FakeLxd) -> None:
    fake.fail("POST", PATH, kind="lost")
    snapshot_id, state = SNAPSHOT.create(ctx, checked(ctx))
    assert snapshot_id == "web-0/before-upgrade" and fake.count("POST", PATH) == 1
    assert state["createdAt"] == "2026-11-29T01:00:00Z"
    found, outputs, live = SNAPSHOT.read(ctx, snapshot_id, state, checked(ctx))
    assert found == snapshot_id and not SNAPSHOT.diff(outputs, checked(ctx)).changes
    assert SNAPSHOT.update(ctx, snapshot_id, outputs, checked(ctx))["createdAt"] == state["createdAt"]
    del fake.snapshots[("web-0", "before-upgrade")]  # deleted out of band
    assert SNAPSHOT.read(ctx, snapshot_id, state, checked(ctx))[0] is None
    SNAPSHOT.create(ctx, checked(ctx))
    SNAPSHOT.delete(ctx, snapshot_id, state)
    SNAPSHOT.delete(ctx, snapshot_id, state)  # gone already: fine
    assert not fake.snapshots


def test_a_snapshot_of_another_project_and_its_import(ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("team-a")
    fake.in_project("team-a").add_instance("db-0", "m1")
    snapshot_id, _ = SNAPSHOT.create(ctx, checked(ctx, instance="db-0", project="team-a"))
    assert snapshot_id == "team-a/db-0/before-upgrade" and ("db-0", "before-upgrade") in fake.in_project(
        "team-a").snapshots
    found, outputs, live = SNAPSHOT.read(ctx, snapshot_id, {}, {})
    assert live == {"name": "before-upgrade", "instance": "db-0", "stateful": False, "project": "team-a"}
    assert SNAPSHOT.check(ctx, live)[1] == []
    with pytest.raises(StepFailed, match="is not \\[<project>/\\]<instance>/<name>"):
        SNAPSHOT.read(ctx, "just-a-name", {}, {})


def test_a_stateful_snapshot_without_criu_is_named_with_the_fix(ctx: Context, fake: FakeLxd) -> None:
    with pytest.raises(StepFailed) as raised:
        SNAPSHOT.create(ctx, checked(ctx, stateful=True))
    message = str(raised.value)
    assert "snapshot web-0/before-upgrade: stateful: true was refused by LXD" in message and "CRIU" in message
    assert "Fix: install CRIU on the member" in message and not fake.snapshots
    fake.criu = True
    _, state = SNAPSHOT.create(ctx, checked(ctx, stateful=True))
    assert fake.snapshots[("web-0", "before-upgrade")]["stateful"] is True and state["stateful"] is True


def test_an_existing_snapshot_that_differs_is_refused_and_a_missing_instance_named(ctx: Context,
                                                                                    fake: FakeLxd) -> None:
    fake.criu = True
    SNAPSHOT.create(ctx, checked(ctx, stateful=True))
    with pytest.raises(OwnershipConflict, match="already exists"):
        SNAPSHOT.create(ctx, checked(ctx))
    assert set(failures_of(ctx, instance="nowhere")) == {"instance"}  # named at preview
    ctx.declared.add("instance", "nowhere")  # declared in the program, but not made
    with pytest.raises(StepFailed, match="instance nowhere: does not exist"):
        SNAPSHOT.create(ctx, checked(ctx, instance="nowhere"))


def test_on_incus_a_containers_stateful_snapshot_needs_migration_stateful_too() -> None:
    """Incus 6.0 asks a container, not only a VM, for config migration.stateful=true before a stateful snapshot."""
    incus = FakeLxd.cluster(server="incus")
    incus.criu = True
    incus.add_instance("web-0", "m2")
    ctx = context(incus)
    refused = failures_of(ctx, stateful=True)["stateful"]
    assert "has no config migration.stateful=true" in refused and 'migration.stateful: "true"' in refused
    with pytest.raises(StepFailed, match="migration.stateful"):  # at up too, should the preview be skipped
        SNAPSHOT.create(ctx, SNAPSHOT.check(ctx, {"name": "before-upgrade", "instance": "web-0", "stateful": True})[0])
    incus.instances["web-0"]["config"]["migration.stateful"] = "true"
    assert failures_of(ctx, stateful=True) == {}
    SNAPSHOT.create(ctx, checked(ctx, stateful=True))
    assert incus.snapshots[("web-0", "before-upgrade")]["stateful"] is True
