"""VolumeCopy: check (a copy of itself refused), create (the source's content, a lost answer adopted, another
volume of that name refused, a missing source named), on a member's local pool (target, sourceTarget),
read (gone, import), delete, and in another project."""

from __future__ import annotations

import pytest

from cluster.errors import OwnershipConflict, StepFailed
from lxd_provider.base import Context
from lxd_provider.volume import Volume
from lxd_provider.volume_copy import VolumeCopy
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import checker

COPY = VolumeCopy()
VOLUMES = r"/storage-pools/default/volumes/custom"

checked = checker(COPY, name="data-copy", pool="default", sourcePool="default", sourceName="data")


def make_source(ctx: Context, **declared: object) -> None:
    volume = Volume()
    inputs, failures = volume.check(ctx, {"name": "data", "pool": "default", "config": {"size": "1GiB"},
                                          "description": "the original", **declared})
    assert failures == []
    volume.create(ctx, inputs)


def test_every_input_replaces_and_a_copy_of_itself_is_refused(ctx: Context) -> None:
    inputs = checked(ctx)
    for prop, value in (("name", "b"), ("pool", "fast"), ("sourcePool", "fast"), ("sourceName", "other"),
                        ("sourceTarget", "m1"), ("target", "m2"), ("project", "team-a")):
        assert COPY.diff(inputs, {**inputs, prop: value}).replaces == [prop], prop
    _, failures = COPY.check(ctx, {"name": "data", "pool": "default", "sourcePool": "default", "sourceName": "data"})
    assert [prop for prop, _ in failures] == ["name"] and "a copy of itself" in failures[0][1]


def test_whole_life_with_a_lost_answer(ctx: Context, fake: FakeLxd) -> None:
    make_source(ctx)
    inputs = checked(ctx)
    posts = fake.count("POST", VOLUMES)
    fake.fail("POST", VOLUMES, kind="lost")
    copy_id, state = COPY.create(ctx, inputs)
    assert copy_id == "default/data-copy" and fake.count("POST", VOLUMES) == posts + 1  # adopted, not copied again
    copied = fake.volumes[("default", "data-copy")]
    assert (copied["config"], copied["description"]) == ({"size": "1GiB"}, "the original")
    found, outputs, live = COPY.read(ctx, copy_id, state, inputs)
    assert found == copy_id and not COPY.diff(outputs, inputs).changes and outputs["location"] == ""
    COPY.delete(ctx, copy_id, state)
    COPY.delete(ctx, copy_id, state)  # gone already: fine
    assert ("default", "data-copy") not in fake.volumes and ("default", "data") in fake.volumes
    assert COPY.read(ctx, copy_id, state, inputs)[0] is None


def test_a_missing_source_and_another_volume_of_that_name_are_named(ctx: Context, fake: FakeLxd) -> None:
    with pytest.raises(StepFailed) as raised:
        COPY.create(ctx, checked(ctx))
    assert "volume default/data: does not exist, so it cannot be copied" in str(raised.value)
    assert fake.count("POST", VOLUMES) == 0
    make_source(ctx)
    fake.volumes[("default", "data-copy")] = {"name": "data-copy", "type": "custom", "config": {"size": "5GiB"},
                                              "description": "", "location": ""}
    with pytest.raises(OwnershipConflict, match="pulumi import lxd:index/volumeCopy:VolumeCopy"):
        COPY.create(ctx, checked(ctx))


def test_on_a_members_local_pool_the_source_is_found_where_it_is(ctx: Context, fake: FakeLxd) -> None:
    make_source(ctx, target="m1")
    with pytest.raises(StepFailed, match="does not exist on m2"):
        COPY.create(ctx, checked(ctx, target="m2"))
    copy_id, state = COPY.create(ctx, checked(ctx, target="m2", sourceTarget="m1"))
    assert fake.volumes[("default", "data-copy")]["location"] == "m2" and state["location"] == "m2"


def test_an_import_takes_the_source_from_the_declaration(ctx: Context) -> None:
    make_source(ctx)
    COPY.create(ctx, checked(ctx))
    found, outputs, live = COPY.read(ctx, "default/data-copy", {}, {})
    assert found == "default/data-copy" and "sourceName" not in live
    assert not COPY.diff(outputs, checked(ctx)).changes


def test_a_copy_in_another_project_is_made_from_that_projects_volume(ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("team-a")
    make_source(ctx, project="team-a")
    copy_id, _state = COPY.create(ctx, checked(ctx, project="team-a"))
    assert copy_id == "team-a/default/data-copy"
    assert ("default", "data-copy") in fake.in_project("team-a").volumes and not fake.volumes
