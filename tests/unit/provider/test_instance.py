"""Instance: check, diff (update vs replace per property), create (incl. a lost answer and adoption),
read (drift and import), update (in place and migration), delete -- against the fake cluster."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import OwnershipConflict, StepFailed
from cluster.facts import MANAGED_KEY, OWNER_KEY
from lxd_provider.base import Context
from lxd_provider.instance import Instance
from lxd_provider.values import UNKNOWN
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import OWNER, context

INSTANCE = Instance()
MOVE = r"/instances/web-0"
TARGETED = r"(\?target)?"


@pytest.fixture
def ctx(fake: FakeLxd) -> Context:
    return context(fake)


def checked(ctx: Context, **news: Any) -> dict[str, Any]:
    inputs, failures = INSTANCE.check(ctx, {"name": "web-0", "image": "debian/stable", **news})
    assert failures == []
    return inputs


def test_check_applies_defaults_and_names_each_bad_property(ctx: Context) -> None:
    inputs = checked(ctx, target="m2")
    assert (inputs["type"], inputs["running"], inputs["profiles"], inputs["waitForNetwork"]) == \
        ("container", True, ["default"], True)
    _, failures = INSTANCE.check(ctx, {"name": "Bad_Name", "image": "images:debian/12", "type": "vm",
                                       "target": "m9", "running": "yes"})
    props = {prop for prop, _ in failures}
    assert props == {"running"}, failures  # type errors first; rules run on well-typed input
    _, failures = INSTANCE.check(ctx, {"name": "Bad_Name", "image": "images:debian/12", "type": "vm"})
    assert {prop for prop, _ in failures} == {"name", "image", "type"}
    _, failures = INSTANCE.check(ctx, {"name": "web-0", "image": "debian/stable", "target": "m9"})
    assert failures == [("target", 'member "m9" is not in the cluster. Fix: use one of m1, m2, m3')]
    _, failures = INSTANCE.check(ctx, {"image": "debian/stable", "colour": "red"})
    assert {prop for prop, _ in failures} == {"name", "colour"}


def test_diff_marks_update_or_replace_per_property(ctx: Context) -> None:
    olds = {**checked(ctx, target="m1"), "location": "m1"}
    assert not INSTANCE.diff(olds, checked(ctx, target="m1")).changes
    for prop, value, replaces in (("image", "debian/next", True), ("type", "virtual-machine", True),
                                  ("ephemeral", True, True), ("name", "web-1", True), ("target", "m2", False),
                                  ("running", False, False), ("config", {"user.x": "1"}, False),
                                  ("limits", {"cpu": "2"}, False), ("profiles", ["default", "x"], False),
                                  ("description", "d", False),
                                  ("devices", [{"name": "d", "type": "disk", "properties": {"path": "/x"}}], False)):
        result = INSTANCE.diff(olds, {**olds, prop: value})
        assert result.changes and list(result.detailed) == [prop], prop
        assert (prop in result.replaces) is replaces, prop
    unknown = INSTANCE.diff(olds, {**olds, "image": UNKNOWN})
    assert unknown.replaces == ["image"]


def test_devices_and_config_compare_as_sets(ctx: Context) -> None:
    a = {"name": "a", "type": "disk", "properties": {"path": "/a", "source": "/s"}}
    b = {"name": "b", "type": "nic", "properties": {"nictype": "bridged", "parent": "br0"}}
    olds = checked(ctx, devices=[a, b], config={"user.x": "1", "user.y": "2"})
    assert not INSTANCE.diff(olds, {**olds, "devices": [b, a], "config": {"user.y": "2", "user.x": "1"}}).changes


def test_create_places_on_the_target_starts_and_reports_addresses(ctx: Context, fake: FakeLxd) -> None:
    resource_id, outputs = INSTANCE.create(ctx, checked(ctx, target="m2", config={"user.role": "web"}))
    record = fake.instances["web-0"]
    assert resource_id == "web-0" and record["location"] == "m2" and record["status"] == "Running"
    assert record["config"][MANAGED_KEY] == "true" and record["config"][OWNER_KEY] == OWNER
    assert (outputs["location"], outputs["status"], outputs["ipv4Address"]) == ("m2", "Running", "10.9.0.100")
    assert outputs["uuid"].startswith("uuid-web-0")


def test_create_whose_answer_was_lost_adopts_and_never_duplicates(ctx: Context, fake: FakeLxd) -> None:
    fake.fail("POST", r"/instances", kind="lost")
    _, outputs = INSTANCE.create(ctx, checked(ctx, target="m3"))
    assert fake.count("POST", r"/instances" + TARGETED) == 1
    assert outputs["location"] == "m3" and fake.instances["web-0"]["status"] == "Running"


def test_create_adopts_our_leftover_and_corrects_it(ctx: Context, fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", status="Stopped", config={MANAGED_KEY: "true", OWNER_KEY: OWNER, "user.x": "old"})
    _, outputs = INSTANCE.create(ctx, checked(ctx, target="m2", config={"user.x": "new"}))
    record = fake.instances["web-0"]
    assert (record["location"], record["status"], record["config"]["user.x"]) == ("m2", "Running", "new")
    assert fake.count("POST", r"/instances" + TARGETED) == 0 and outputs["location"] == "m2"


def test_create_makes_a_cut_off_leftover_again_without_starting_it(ctx: Context, fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", status="Stopped", lifecycle="cut-off",
                      config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    _, outputs = INSTANCE.create(ctx, checked(ctx, target="m2"))
    assert fake.count("DELETE", r"/instances/web-0") == 1 and fake.count("POST", r"/instances" + TARGETED) == 1
    assert (outputs["location"], fake.instances["web-0"]["status"]) == ("m2", "Running")


def test_an_adopted_leftover_that_does_not_start_is_named_and_kept(ctx: Context, fake: FakeLxd) -> None:
    """It may have run and hold data: the error names it and the way out; nothing is deleted on a guess."""
    fake.add_instance("web-0", "m2", status="Stopped", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    fake.fail("PUT", r"/instances/web-0/state", kind="operation", message="Failed to run: forkstart", times=9)
    with pytest.raises(StepFailed) as raised:
        INSTANCE.create(ctx, checked(ctx, target="m2"))
    assert "instance web-0: was left by an earlier run" in str(raised.value) and "forkstart" in str(raised.value)
    assert "lxc info --show-log web-0" in str(raised.value)
    assert "web-0" in fake.instances and fake.count("DELETE", r"/instances/web-0") == 0


def test_create_never_adopts_another_stacks_or_a_persons_instance(ctx: Context, fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: "lxdha/prod"})
    with pytest.raises(OwnershipConflict, match="lxdha/prod"):
        INSTANCE.create(ctx, checked(ctx))
    fake.instances["web-0"]["config"] = {}
    with pytest.raises(OwnershipConflict, match="not created by lxdha"):
        INSTANCE.create(ctx, checked(ctx))


def test_read_reports_drift_but_keeps_the_declared_target(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, target="m1", config={"user.x": "1"})
    resource_id, state = INSTANCE.create(ctx, inputs)
    record = fake.instances["web-0"]
    record.update(location="m3", status="Stopped")
    record["config"]["user.x"] = "changed"
    found, outputs, live = INSTANCE.read(ctx, resource_id, state, inputs)
    assert found == "web-0"
    assert (outputs["location"], live["running"], live["config"], live["target"]) == \
        ("m3", False, {"user.x": "changed"}, "m1")
    diff = INSTANCE.diff(outputs, inputs)
    assert set(diff.detailed) == {"running", "config"} and not diff.replaces  # the move is not undone
    del fake.instances["web-0"]
    ctx.recent_reads.forget()  # a later refresh: the listing the first read shared is no longer used
    assert INSTANCE.read(ctx, resource_id, state, inputs)[0] is None


def test_the_reads_of_one_refresh_share_one_listing(ctx: Context, fake: FakeLxd) -> None:
    for index in range(5):
        fake.add_instance(f"web-{index}", f"m{index % 3 + 1}", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    found = [INSTANCE.read(ctx, f"web-{index}", {}, {}) for index in range(5)]
    assert [resource_id for resource_id, _, _ in found] == [f"web-{index}" for index in range(5)]
    assert all(outputs["ipv4Address"] == "10.9.0.100" for _, outputs, _ in found)
    assert fake.count("GET", r"/instances") == 1 and fake.count("GET", r"/instances/.*") == 0


def test_an_instance_the_listing_does_not_show_plainly_is_read_on_its_own(ctx: Context, fake: FakeLxd) -> None:
    """A member that did not answer the listing shows its instances in state Error; a listing that fails
    leaves every read to ask for its own instance."""
    fake.add_instance("web-0", "m1", status="Error", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    assert INSTANCE.read(ctx, "web-0", {}, {})[0] == "web-0"
    assert fake.count("GET", r"/instances/web-0") == 1
    ctx.recent_reads.forget()
    fake.instances["web-0"]["status"] = "Running"
    fake.fail("GET", r"/instances", message="Failed to connect to member m2")
    assert INSTANCE.read(ctx, "web-0", {}, {})[1]["ipv4Address"] == "10.9.0.100"
    assert fake.count("GET", r"/instances/web-0") == 2 and fake.count("GET", r"/instances/web-0/state") == 1


def test_read_treats_another_stacks_instance_as_gone(ctx: Context, fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: "lxdha/prod"})
    assert INSTANCE.read(ctx, "web-0", {}, {})[0] is None


def test_import_reads_every_property_from_the_cluster(ctx: Context, fake: FakeLxd) -> None:
    fake.add_instance("handmade", "m2", config={"limits.cpu": "1", "user.a": "b", "volatile.x": "y"},
                      devices={"data": {"type": "disk", "path": "/data", "source": "/srv"}}, description="by hand")
    found, outputs, live = INSTANCE.read(ctx, "default/handmade", {}, {})
    assert found == "default/handmade"
    assert live["config"] == {"limits.cpu": "1", "user.a": "b"} and live["target"] == "m2"
    assert live["devices"] == [{"name": "data", "type": "disk", "properties": {"path": "/data", "source": "/srv"}}]
    assert live["image"] == "f" * 64 and outputs["ipv4Address"] == "10.9.0.100"
    ctx.olds = live  # an import checks what it read against itself (its base image may be long gone)
    assert INSTANCE.check(ctx, live)[1] == []


def test_update_in_place_and_migration(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, target="m1")
    resource_id, olds = INSTANCE.create(ctx, inputs)
    news = {**inputs, "config": {"user.y": "2"}, "target": "m3"}
    outputs = INSTANCE.update(ctx, resource_id, olds, news)
    record = fake.instances["web-0"]
    assert (record["location"], record["status"], record["config"]["user.y"]) == ("m3", "Running", "2")
    assert record["config"]["volatile.uuid"].startswith("uuid-") and outputs["location"] == "m3"
    moves = fake.count("POST", MOVE + TARGETED)
    INSTANCE.update(ctx, resource_id, outputs, {**news, "running": False})
    assert fake.instances["web-0"]["status"] == "Stopped" and fake.count("POST", MOVE + TARGETED) == moves


def test_update_to_the_member_it_already_runs_on_moves_nothing(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, target="m1")
    resource_id, olds = INSTANCE.create(ctx, inputs)
    fake.instances["web-0"]["location"] = "m2"  # moved by maintenance
    INSTANCE.update(ctx, resource_id, olds, {**inputs, "target": "m2"})
    assert fake.count("POST", MOVE + TARGETED) == 0


def test_delete_is_idempotent_and_spares_other_stacks(ctx: Context, fake: FakeLxd) -> None:
    resource_id, state = INSTANCE.create(ctx, checked(ctx))
    fake.fail("DELETE", MOVE, kind="lost")
    INSTANCE.delete(ctx, resource_id, state)
    INSTANCE.delete(ctx, resource_id, state)
    assert "web-0" not in fake.instances
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: "lxdha/prod"})
    with pytest.raises(OwnershipConflict):
        INSTANCE.delete(ctx, resource_id, state)
