"""Instance: check, diff (update vs replace per property), create (incl. a lost answer and adoption),
read (drift and import), update (in place and migration), delete -- against the fake cluster."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cluster.errors import OwnershipConflict, StepFailed
from cluster.facts import MANAGED_KEY, OWNER_KEY
from lxd_provider.base import Context
from lxd_provider.instance import Instance, interfaces
from lxd_provider.values import UNKNOWN
from lxd_provider.wait_for import await_conditions
from tests.support.fake_clock import FakeClock
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import OWNER

INSTANCE = Instance()
MOVE = r"/instances/web-0"
TARGETED = r"(\?target)?"


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
    assert outputs["interfaces"] == {"eth0": {"name": "eth0", "type": "broadcast", "state": "up", "ips": [
        {"address": "10.9.0.100", "family": "inet", "scope": "global"},
        {"address": "fd00::1", "family": "inet6", "scope": "global"}]}}  # the loopback left out


def test_interfaces_are_named_by_their_nic_device_and_gone_while_stopped(ctx: Context, fake: FakeLxd) -> None:
    config = {"volatile.eth0.hwaddr": "00:16:3e:aa:aa:aa", "volatile.uplink.hwaddr": "00:16:3e:bb:bb:bb"}
    state = {"network": {  # a VM's interfaces have names of their own
        "enp5s0": {"hwaddr": "00:16:3e:bb:bb:bb", "type": "broadcast", "state": "up", "addresses": []},
        "docker0": {"hwaddr": "02:42:00:00:00:01", "type": "broadcast", "state": "down", "addresses": []}}}
    assert interfaces(config, state) == {"uplink": {"name": "enp5s0", "type": "broadcast", "state": "up", "ips": []}}
    resource_id, state = INSTANCE.create(ctx, checked(ctx))
    fake.instances["web-0"]["status"] = "Stopped"
    assert INSTANCE.read(ctx, resource_id, state, {})[1]["interfaces"] == {}


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


def test_create_makes_a_container_from_a_partly_unpacked_image_again(ctx: Context, fake: FakeLxd) -> None:
    """Incus 6.0 reuses a member's image volume whose unpack was cut off: the container never ran, so it
    is made again once that volume is gone (a whole root that does not start is an error, below)."""
    fake.add_image("f" * 64, aliases=("debian/stable",))
    fake.partial_unpacks.add(("m2", "f" * 64))
    _, outputs = INSTANCE.create(ctx, checked(ctx, target="m2", image="f" * 64))
    assert (outputs["location"], fake.instances["web-0"]["status"]) == ("m2", "Running")
    assert fake.count("DELETE", r"/instances/web-0") == 1 and not fake.partial_unpacks


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


def test_an_instance_of_another_project_lives_there_and_its_reads_share_that_projects_listing(
        ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("team-a", **{"features.images": "false"})  # the default project's images serve it
    resource_id, state = INSTANCE.create(ctx, checked(ctx, project="team-a", target="m2"))
    team = fake.in_project("team-a")
    assert resource_id == "team-a/web-0" and "web-0" in team.instances and "web-0" not in fake.instances
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})  # same name, default project
    team.add_instance("web-1", "m3", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    ctx.recent_reads.forget()
    reads = {i: INSTANCE.read(ctx, i, {}, {}) for i in ("team-a/web-0", "team-a/web-1", "web-0")}
    assert {i: r[1]["location"] for i, r in reads.items()} == {"team-a/web-0": "m2", "team-a/web-1": "m3",
                                                                "web-0": "m1"}
    assert reads["team-a/web-1"][2]["project"] == "team-a"
    assert fake.count("GET", r"/instances") == 2  # one listing per project, shared by its reads
    INSTANCE.delete(ctx, resource_id, state)
    assert "web-0" not in team.instances and "web-0" in fake.instances


def test_files_are_written_before_the_first_start_and_follow_their_declaration(ctx: Context, fake: FakeLxd,
                                                                                tmp_path) -> None:
    source = tmp_path / "app.ini"
    source.write_text("port=80\n")
    seen_before_start = []
    fake.fail("PUT", r"/instances/web-0/state", kind="pass",
              before=lambda: seen_before_start.append(sorted(p for i, p in fake.files if i == "web-0")))
    files = [{"targetPath": "/etc/motd", "content": "hello\n"},
             {"targetPath": "/opt/app/app.ini", "sourcePath": str(source), "createDirectories": True, "mode": "0600"}]
    inputs = checked(ctx, files=files)
    resource_id, state = INSTANCE.create(ctx, inputs)
    assert seen_before_start == [["/etc/motd", "/opt/app", "/opt/app/app.ini"]]
    assert fake.files[("web-0", "/opt/app/app.ini")]["mode"] == "0600"
    assert set(state["fileHashes"]) == {"/etc/motd", "/opt/app/app.ini"}
    assert not INSTANCE.diff(state, inputs).changes
    _, outputs, _ = INSTANCE.read(ctx, resource_id, state, inputs)
    assert not INSTANCE.diff(outputs, inputs).changes

    source.write_text("port=8080\n")  # the local source changed: an update writes it again
    assert list(INSTANCE.diff(outputs, inputs).detailed) == ["files"]
    posts = fake.count("POST", r"/instances/web-0/files")
    news = {**inputs, "files": files[1:]}  # /etc/motd dropped: removed from the instance
    state = INSTANCE.update(ctx, resource_id, outputs, news)
    assert fake.files[("web-0", "/opt/app/app.ini")]["content"] == b"port=8080\n"
    assert ("web-0", "/etc/motd") not in fake.files and list(state["fileHashes"]) == ["/opt/app/app.ini"]
    assert fake.count("POST", r"/instances/web-0/files") == posts + 1  # only what changed is written


def test_files_are_checked_at_preview(ctx: Context) -> None:
    files = [{"targetPath": "etc/motd", "content": "x"}, {"targetPath": "/a", "content": "x"},
             {"targetPath": "/a", "content": "y"}]
    _, failures = INSTANCE.check(ctx, {"name": "web-0", "image": "debian/stable", "files": files})
    assert [reason for _, reason in failures] == [
        "files[0] (etc/motd): targetPath 'etc/motd' must be an absolute path to a file, e.g. /etc/motd",
        "/a is declared twice in files: keep one"]
    _, failures = INSTANCE.check(ctx, {"name": "vm-0", "image": "debian/stable", "type": "virtual-machine",
                                       "running": False, "files": files[1:2]})
    assert [prop for prop, _ in failures] == ["files"] and "takes files only while it runs" in failures[0][1]


def test_wait_fors_are_checked_at_preview(ctx: Context) -> None:
    def reasons(type_: str = "container", **entry: Any) -> list[str]:
        _, failures = INSTANCE.check(ctx, {"name": "web-0", "image": "debian/stable", "type": type_,
                                           "waitFors": [{"type": "ipv4"}, entry]})
        return [reason for prop, reason in failures if prop == "waitFors"]

    assert reasons(type="online") == ["waitFors[1]: type 'online' must be one of agent, delay, ipv4, ipv6, ready"]
    assert reasons(type="ready", nic="eth0") == ["waitFors[1]: nic goes only with type ipv4 or ipv6"]
    assert reasons(type="delay") == ["waitFors[1]: delay goes with type delay, and type delay needs it"]
    assert reasons(type="delay", delay="30 seconds") == [
        "waitFors[1]: delay '30 seconds' is not a duration such as \"30s\" or \"1m30s\""]
    assert reasons(type="agent") == ["waitFors[1]: only a virtual machine has an agent to wait for"]
    assert reasons("virtual-machine", type="agent") == reasons(type="ipv6", nic="eth0") == \
        reasons(type="delay", delay="1m30s") == reasons(type=UNKNOWN) == []


def test_create_waits_for_each_condition_in_turn(ctx: Context, fake: FakeLxd,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    polls: list[str] = []

    def ready_on_the_third_poll() -> None:
        polls.append(fake.instances["web-0"]["status"])
        if len(polls) == 3:
            fake.instances["web-0"]["status"] = "Ready"  # what the instance says through /dev/lxd

    fake.fail("GET", r"/instances/web-0/state", kind="pass", times=99, before=ready_on_the_third_poll)
    waits = [{"type": "ipv6", "nic": "eth0"}, {"type": "delay", "delay": "1m30s"}, {"type": "ready"}]
    resource_id, outputs = INSTANCE.create(ctx, checked(ctx, waitFors=waits))
    assert 90.0 in slept and polls[:3] == ["Running", "Running", "Running"]
    assert (outputs["status"], outputs["ipv6Address"], outputs["waitFors"]) == ("Ready", "fd00::1", waits)
    found, state, live = INSTANCE.read(ctx, resource_id, outputs, {})
    assert live["running"] is True and not INSTANCE.diff(state, checked(ctx, waitFors=waits)).changes
    INSTANCE.update(ctx, resource_id, state, checked(ctx, waitFors=waits, description="x"))  # not started: no wait
    assert slept.count(90.0) == 1 and fake.count("PUT", r"/instances/web-0/state") == 1  # a Ready one runs


def test_a_condition_that_never_comes_is_named(ctx: Context, fake: FakeLxd, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    inputs = checked(ctx, waitFors=[{"type": "ipv4", "nic": "eth1"}], waitForNetwork=False)
    with pytest.raises(StepFailed) as raised:
        INSTANCE.create(ctx, inputs)
    assert "instance web-0: a global ipv4 address on eth1 did not come within 180s" in str(raised.value)


@pytest.mark.parametrize(("server", "hints"), [("lxd", ("/dev/lxd/sock", "lxd-agent", "`lxc info")),
                                               ("incus", ("/dev/incus/sock", "incus-agent", "`incus info"))])
def test_a_condition_that_never_comes_names_the_servers_own_guest_api_and_agent(
        server: str, hints: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    fake = FakeLxd.cluster(server=server)
    fake.add_instance("vm-0", "m1", type="virtual-machine", fake_processes=0)
    fixes = []
    for kind in ("ready", "agent"):
        with pytest.raises(StepFailed) as raised:
            await_conditions(fake.client(), "vm-0", [{"type": kind}])
        fixes.append(raised.value.fix)
    assert hints[0] in fixes[0] and hints[1] in fixes[1] and hints[2] in fixes[1]


def test_an_update_that_starts_or_moves_it_waits_again(ctx: Context, fake: FakeLxd,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    inputs = checked(ctx, target="m1", running=False, waitFors=[{"type": "delay", "delay": "5s"}])
    resource_id, state = INSTANCE.create(ctx, inputs)
    assert slept == []  # not started
    state = INSTANCE.update(ctx, resource_id, state, {**inputs, "running": True})
    state = INSTANCE.update(ctx, resource_id, state, {**inputs, "running": True, "target": "m2"})
    INSTANCE.update(ctx, resource_id, state, {**inputs, "running": True, "target": "m2", "description": "x"})
    assert slept.count(5.0) == 2


def test_allow_restart_false_refuses_a_move_of_a_running_instance(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, target="m1", allowRestart=False)
    resource_id, state = INSTANCE.create(ctx, inputs)
    moving = {**inputs, "target": "m2"}
    _, failures = INSTANCE.check(ctx, moving, inputs)  # preview
    assert failures == [("target", "moving web-0 from m1 to m2 stops and starts it, and allowRestart is false: "
                                   "set allowRestart: true, stop it first (running: false), or keep target 'm1'")]
    with pytest.raises(StepFailed, match="allowRestart is false"):
        INSTANCE.update(ctx, resource_id, state, moving)
    assert fake.instances["web-0"]["location"] == "m1" and fake.count("POST", MOVE + TARGETED) == 0
    assert INSTANCE.check(ctx, {**moving, "allowRestart": True}, inputs)[1] == []
    assert INSTANCE.check(ctx, {**moving, "running": False}, inputs)[1] == []  # stopping it is declared
    fake.instances["web-0"]["location"] = "m2"  # moved by maintenance: nothing to restart
    assert INSTANCE.check(ctx, moving, inputs)[1] == []
    INSTANCE.update(ctx, resource_id, state, moving)
    assert fake.count("POST", MOVE + TARGETED) == 0 and fake.instances["web-0"]["status"] == "Running"
