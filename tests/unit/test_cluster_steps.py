"""Each mutating step driven through a fake LXD that fails in the ways a real cluster does; every retry
must re-read the cluster and continue from what it shows (never repeat what already happened)."""

# ruff: noqa: F811 - test parameters named after the imported fixtures
from __future__ import annotations

import pytest

from cluster.errors import MemberNotOnline, OwnershipConflict, StepFailed
from cluster.facts import (
    LAST_POWER_KEY,
    MANAGED_KEY,
    OWNER_KEY,
    PENDING_TEMPLATES_KEY,
    create_cut_off,
    never_started,
)
from cluster.operations import OperationFailed
from cluster.steps import (
    ADOPTED,
    ADOPTED_UNSTARTED,
    CREATED,
    ensure_created,
    ensure_deleted,
    ensure_launched,
    ensure_moved,
    ensure_running,
    ensure_stopped,
    migration_under_way,
    run_in_instance,
)
from tests.support.fake_fixtures import fake, no_waiting  # noqa: F401 - the fixtures these tests use
from tests.support.fake_lxd import FakeLxd

OWNER = "lxdha/test"
BODY = {"name": "web-0", "type": "container", "source": {"type": "image", "alias": "debian/stable"},
        "config": {MANAGED_KEY: "true", OWNER_KEY: OWNER}, "profiles": ["default"], "devices": {}}


CREATE = r"/instances"


def test_create_whose_answer_was_lost_is_adopted_not_repeated(fake: FakeLxd) -> None:
    fake.fail("POST", CREATE, kind="lost")
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == ADOPTED_UNSTARTED
    assert fake.count("POST", CREATE + TARGETED) == 1
    assert fake.instances["web-0"]["location"] == "m2"


def test_a_record_whose_create_was_cut_off_is_deleted_unstarted_and_created_again(fake: FakeLxd) -> None:
    """A member killed mid-create leaves a record without storage; starting it would leave LXD a plain
    directory it cannot delete on btrfs (seen on the lab), so it is deleted first, never started."""
    fake.add_instance("web-0", "m2", status="Stopped", lifecycle="cut-off", config={MANAGED_KEY: "true",
                                                                                    OWNER_KEY: OWNER})
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == CREATED
    assert fake.count("PUT", r"/instances/web-0/state") == 0, "the cut-off record was started"
    assert fake.count("DELETE", r"/instances/web-0") == 1 and fake.count("POST", CREATE + TARGETED) == 1
    assert list(fake.instances) == ["web-0"] and not create_cut_off(fake.instances["web-0"])
    assert not create_cut_off({"type": "virtual-machine", "config": {}})  # no template mark for VMs: adopted


def test_a_record_still_being_created_is_waited_for_then_adopted(fake: FakeLxd) -> None:
    """The answer of our create was lost while LXD still makes the storage: no keys yet, but an operation
    works on it; once LXD is done it is adopted, not deleted."""
    record = fake.add_instance("web-0", "m2", status="Stopped", lifecycle="cut-off",
                               config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    fake.running_operations.append({"id": "op-create", "status": "Running",
                                    "resources": {"instances": ["/1.0/instances/web-0?project=default"]}})

    def lxd_finishes_the_create() -> None:
        fake.running_operations.clear()
        record["config"][PENDING_TEMPLATES_KEY] = "create"

    fake.fail("GET", r"/operations", kind="pass", before=lambda: None)  # the first look: still busy
    fake.fail("GET", r"/operations", kind="pass", before=lxd_finishes_the_create)
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == ADOPTED
    assert fake.count("DELETE", r"/instances/web-0") == 0 and fake.count("POST", CREATE + TARGETED) == 0


def test_create_retries_a_locked_database_and_creates_once(fake: FakeLxd) -> None:
    fake.fail("POST", CREATE, message="Failed to begin transaction: database is locked", times=2)
    assert ensure_created(fake.client(), dict(BODY), "m1", OWNER) == CREATED
    assert fake.count("POST", CREATE + TARGETED) == 3 and list(fake.instances) == ["web-0"]


def test_create_waits_for_its_member_to_come_back(fake: FakeLxd) -> None:
    fake.offline_reads["m3"] = 3
    assert ensure_created(fake.client(), dict(BODY), "m3", OWNER) == CREATED
    assert fake.instances["web-0"]["location"] == "m3"


def test_create_waits_while_its_members_daemon_is_dead_but_still_listed_online(fake: FakeLxd) -> None:
    """A killed daemon stays ONLINE in the listing for up to 20 s; its record cannot even be read then.
    The step waits for the member to answer instead of spending its retries (seen on the lab)."""
    fake.add_instance("web-0", location="m3", status="Stopped", lifecycle="created",
                      config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    fake.silent_requests["m3"] = 20  # more failed requests than the step has retries
    assert ensure_created(fake.client(), dict(BODY), "m3", OWNER) == ADOPTED_UNSTARTED
    assert fake.silent_requests["m3"] == 0 and fake.count("POST", CREATE + TARGETED) == 0


def test_start_stop_exec_and_delete_wait_while_the_instances_member_is_silent(fake: FakeLxd) -> None:
    fake.add_instance("web-0", location="m3", status="Stopped")
    for step in (lambda c: ensure_running(c, "web-0"),
                 lambda c: run_in_instance(c, "web-0", ["true"], 10, "exec in web-0"),
                 lambda c: ensure_stopped(c, "web-0"),
                 lambda c: ensure_deleted(c, "web-0")):
        fake.silent_requests["m3"] = 20  # more failed requests than a step has retries
        step(fake.client())
        assert fake.silent_requests["m3"] == 0
    assert "web-0" not in fake.instances


def test_a_member_whose_daemon_stays_silent_is_a_clear_error(fake: FakeLxd) -> None:
    fake.silent_requests["m3"] = 10**6
    with pytest.raises(MemberNotOnline) as raised:
        ensure_created(fake.client(), dict(BODY), "m3", OWNER, member_wait_s=0.01)
    assert "its daemon does not answer" in str(raised.value) and "Fix:" in str(raised.value)
    assert fake.count("POST", CREATE + TARGETED) == 0


def test_a_member_that_stays_offline_is_a_clear_error(fake: FakeLxd) -> None:
    fake.members["m3"]["status"] = "Offline"
    with pytest.raises(MemberNotOnline) as raised:
        ensure_created(fake.client(), dict(BODY), "m3", OWNER, member_wait_s=0.01)
    assert "member m3" in str(raised.value) and "Fix:" in str(raised.value)
    assert fake.count("POST", CREATE + TARGETED) == 0


def test_someone_elses_instance_is_never_adopted(fake: FakeLxd) -> None:
    fake.add_instance("web-0", config={MANAGED_KEY: "true", OWNER_KEY: "lxdha/other"})
    with pytest.raises(OwnershipConflict, match="managed by stack lxdha/other"):
        ensure_created(fake.client(), dict(BODY), "m1", OWNER)
    fake.instances["web-0"]["config"] = {}
    with pytest.raises(OwnershipConflict, match="not created by lxdha"):
        ensure_created(fake.client(), dict(BODY), "m1", OWNER)
    assert fake.count("POST", CREATE + TARGETED) == 0


def test_a_real_error_surfaces_at_once(fake: FakeLxd) -> None:
    fake.fail("POST", CREATE, status=400, message="Invalid config: unknown key 'nope'")
    with pytest.raises(OperationFailed, match="unknown key"):
        ensure_created(fake.client(), dict(BODY), "m1", OWNER)
    assert fake.count("POST", CREATE + TARGETED) == 1


MOVE = r"/instances/web-0"
TARGETED = r"(\?target)?"


def test_move_to_where_it_already_is_does_nothing(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m2")
    assert ensure_moved(fake.client(), "web-0", "m2") is False
    assert fake.count("POST", MOVE + TARGETED) == 0 and fake.count("PUT", MOVE + "/state") == 0


def test_move_right_after_the_target_returns_continues_from_what_the_cluster_shows(fake: FakeLxd) -> None:
    """The failure the maintenance roll met: the restore move got "Target node is offline" right after the
    member came back; the retry must re-read (now stopped, still on the source) and finish the job."""
    fake.add_instance("web-0", "m1")
    fake.fail("POST", MOVE, message="Target node is offline")
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    instance = fake.instances["web-0"]
    assert (instance["location"], instance["status"]) == ("m2", "Running")
    assert fake.count("POST", MOVE + TARGETED) == 2


def test_move_whose_answer_was_lost_is_not_repeated(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1")
    fake.fail("POST", MOVE, kind="lost")
    assert ensure_moved(fake.client(), "web-0", "m3") is True
    assert fake.count("POST", MOVE + TARGETED) == 1
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m3", "Running")


def test_an_instance_stopped_by_an_interrupted_attempt_is_started_again(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1")
    fake.fail("PUT", MOVE + "/state", kind="lost")  # the stop happened, its answer did not arrive
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    assert fake.instances["web-0"]["status"] == "Running"


def test_move_waits_for_an_offline_target(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", status="Stopped")
    fake.offline_reads["m2"] = 2
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m2", "Stopped")


def test_delete_whose_answer_was_lost_is_success(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: OWNER})
    fake.fail("DELETE", MOVE, kind="lost")
    assert ensure_deleted(fake.client(), "web-0", owner=OWNER) is False  # it went, we never saw the answer
    assert "web-0" not in fake.instances
    assert ensure_deleted(fake.client(), "web-0", owner=OWNER) is False


def test_delete_refuses_someone_elses_instance(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", config={MANAGED_KEY: "true", OWNER_KEY: "lxdha/other"})
    with pytest.raises(OwnershipConflict):
        ensure_deleted(fake.client(), "web-0", owner=OWNER)
    assert "web-0" in fake.instances


def test_start_and_stop_read_before_acting(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1", status="Stopped")
    fake.fail("PUT", MOVE + "/state", kind="lost")
    ensure_running(fake.client(), "web-0")
    assert fake.count("PUT", MOVE + "/state") == 1
    ensure_running(fake.client(), "web-0")
    assert fake.count("PUT", MOVE + "/state") == 1
    fake.fail("PUT", MOVE + "/state", status=503, message="Service Unavailable")
    ensure_stopped(fake.client(), "web-0")
    assert fake.instances["web-0"]["status"] == "Stopped"


def test_exec_reruns_an_idempotent_step_after_a_dropped_connection(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1")
    ran: list[list[str]] = []
    fake.exec_handler = lambda _name, command: (ran.append(command), (0, "done\n", ""))[1]
    fake.fail("POST", MOVE + "/exec", kind="connection")
    result = run_in_instance(fake.client(), "web-0", ["true"], timeout_s=10, what="step")
    assert (result.exit_code, result.stdout) == (0, "done\n") and len(ran) == 1


def test_exec_in_a_vanished_instance_names_it_and_the_fix(fake: FakeLxd) -> None:
    with pytest.raises(StepFailed) as raised:
        run_in_instance(fake.client(), "web-0", ["true"], timeout_s=10, what="step")
    assert "instance web-0" in str(raised.value) and "pulumi refresh" in str(raised.value)


def test_move_stopped_after_lxd_deleted_the_original_renames_its_copy_back(fake: FakeLxd) -> None:
    """LXD moves by copy -> delete original -> rename copy; a member restarted between the last two left
    only `lxd-move-of-<uuid>` on the target and no `web-0` at all."""
    fake.add_instance("web-0", "m1")
    fake.interrupt_move = ("delete", "Rename instance operation failed: Failed to begin transaction: EOF")
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    assert sorted(fake.instances) == ["web-0"]
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m2", "Running")


def test_move_stopped_after_the_copy_removes_the_copy_and_moves_again(fake: FakeLxd) -> None:
    """The copy landed on the target, deleting the original did not: a second move would collide with
    the copy's name, so the retry removes the copy first."""
    fake.add_instance("web-0", "m1")
    fake.interrupt_move = ("copy", "Delete instance operation failed: websocket: close 1006 (abnormal closure): "
                                   "unexpected EOF")
    assert ensure_moved(fake.client(), "web-0", "m3") is True
    assert sorted(fake.instances) == ["web-0"]
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m3", "Running")


def test_a_copy_lxd_is_still_making_is_left_alone_until_its_operation_ends(fake: FakeLxd) -> None:
    """Our wait lost its connection while LXD's own move went on: the retry sees the original and the copy,
    but an operation is still working on them, so it waits instead of removing the copy under LXD."""
    fake.add_instance("web-0", "m1", status="Stopped")
    fake.add_instance("lxd-move-of-uuid-web-0", "m2", status="Stopped")
    fake.running_operations.append({"id": "op-copy", "status": "Running", "resources": {
        "instances": ["/1.0/instances/lxd-move-of-uuid-web-0"]}})

    def lxd_finishes_its_move() -> None:
        fake.running_operations.clear()
        del fake.instances["web-0"]
        fake.instances["web-0"] = {**fake.instances.pop("lxd-move-of-uuid-web-0"), "name": "web-0"}

    fake.fail("GET", r"/operations", kind="pass", before=lambda: None)
    fake.fail("GET", r"/operations", kind="pass", before=lxd_finishes_its_move)
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    assert fake.count("POST", MOVE + TARGETED) == 0, "LXD's own move finished it: nothing to redo"
    assert sorted(fake.instances) == ["web-0"] and fake.instances["web-0"]["location"] == "m2"


# How soak rolls stopped when a move's migration stream broke (each stopped a roll before it was classified):
BROKEN_TRANSFERS = {
    # roll 3: the target cut off the network during the copy
    "target cut off (websocket)": "Copy instance operation failed: Failed instance creation: Error transferring "
                                  "instance data: websocket: bad handshake",
    # 6-roll run, roll 3: the same, seen as the TLS stream between the members breaking
    "target cut off (tls)": "Copy instance operation failed: Failed instance creation: local error: tls: bad "
                            "record MAC",
    # 6-roll run, roll 4: the source member's daemon restarted during the copy
    "source daemon restarted": "Copy instance operation failed: Failed instance creation: Error transferring "
                               "instance data: Got error reading migration source: websocket: close 1000 (normal)",
}


@pytest.mark.parametrize("message", BROKEN_TRANSFERS.values(), ids=BROKEN_TRANSFERS.keys())
def test_move_whose_migration_stream_broke_is_re_read_and_made_again(fake: FakeLxd, message: str) -> None:
    """The connection between members broke, which heals: the retry re-reads, waits for the target and
    moves again (once: the first attempt's copy never completed)."""
    fake.add_instance("web-0", "m2")
    fake.interrupt_move = ("transfer", message)
    assert ensure_moved(fake.client(), "web-0", "m3") is True
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m3", "Running")
    assert fake.count("POST", MOVE + TARGETED) == 2


def test_a_move_that_fails_for_good_leaves_the_instance_running_where_it_is(fake: FakeLxd) -> None:
    """Same run, rolls 5-6: the stopped roll had left the replica stopped (the move stops it first), so
    --return-home moved it home stopped and every later roll stopped at its gate. A move that gives up
    starts again what it stopped."""
    fake.add_instance("web-0", "m2")
    fake.interrupt_move = ("transfer", "Copy instance operation failed: Failed instance creation: Failed creating "
                                       "instance from image: no space left on device")
    with pytest.raises(OperationFailed, match="no space left"):
        ensure_moved(fake.client(), "web-0", "m1")
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m2", "Running")


def test_a_move_answered_with_the_record_changing_hands_is_re_read_not_repeated(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1")
    fake.fail("POST", MOVE, kind="operation", message="Failed to get address of instance's member: Instance not found")
    assert ensure_moved(fake.client(), "web-0", "m2") is True
    assert fake.count("POST", MOVE + TARGETED) == 1 and fake.instances["web-0"]["location"] == "m2"


def test_a_move_to_a_member_still_holding_a_broken_copy_waits_for_lxd_to_remove_it(fake: FakeLxd) -> None:
    """Soak (7-roll run, rolls 2-3): a copy broke off when the leader was killed; the target kept its volume
    for 10-30 s and every move to it failed with "Cannot create volume, already exists on migration target
    storage". The move is tried again (after re-reading the cluster) until LXD has removed the leftover."""
    fake.add_instance("web-0", "m1")
    leftover = ("transfer", "Copy instance operation failed: Failed instance creation: Error transferring instance "
                            "data: Failed creating instance on target: Cannot create volume, already exists on "
                            "migration target storage")
    fake.fail("POST", MOVE, kind="pass", times=5, before=lambda: setattr(fake, "interrupt_move", leftover))
    assert ensure_moved(fake.client(), "web-0", "m3") is True
    assert (fake.instances["web-0"]["location"], fake.instances["web-0"]["status"]) == ("m3", "Running")
    assert fake.count("POST", MOVE + TARGETED) == 6


def test_on_incus_a_move_looks_for_no_temporary_copy_and_exec_reads_its_output_where_incus_keeps_it() -> None:
    """Incus 6.0 moves an instance between members under its own name (no `lxd-move-of-<uuid>` copy to
    settle), says "Incus is shutting down" where LXD says "LXD is shutting down", and records exec output
    under logs/exec-output/."""
    incus = FakeLxd.cluster(server="incus")
    incus.add_instance("web-0", "m1")
    incus.interrupt_move = ("transfer", "Incus is shutting down")
    assert ensure_moved(incus.client(), "web-0", "m2") is True
    assert (incus.instances["web-0"]["location"], incus.instances["web-0"]["status"]) == ("m2", "Running")
    assert not any("move-of" in path for _, path in incus.calls)
    incus.exec_handler = lambda _name, command: (0, " ".join(command), "")
    assert run_in_instance(incus.client(), "web-0", ["echo", "hi"], timeout_s=10, what="step").stdout == "echo hi"
    assert incus.count("DELETE", r"/instances/web-0/logs/exec-output/.*") == 2  # its recorded output, cleaned up


def test_a_container_made_from_a_partly_unpacked_image_is_made_again_from_a_fresh_unpack(fake: FakeLxd) -> None:
    """Incus 6.0 records a member's image volume before it unpacks it, and a later create uses it as it is
    (seen on the lab: a member killed mid-create, the container made again has no /sbin/init). The
    container never ran, so it and that member's image volume are deleted and it is made again."""
    fake.partial_unpacks.add(("m2", "f" * 64))
    ensure_launched(fake.client(), "web-0", "f" * 64, "m2", owner=OWNER)
    assert fake.instances["web-0"]["status"] == "Running" and not fake.partial_unpacks
    assert fake.count("DELETE", r"/instances/web-0") == 1
    assert fake.count("DELETE", r"/storage-pools/default/volumes/image/" + "f" * 64 + TARGETED) == 1


def test_a_container_that_does_not_start_with_its_root_whole_is_not_made_again(fake: FakeLxd) -> None:
    fake.fail("PUT", r"/instances/web-0/state", kind="operation", message="Failed to run: forkstart", times=9)
    with pytest.raises(OperationFailed, match="forkstart"):
        ensure_launched(fake.client(), "web-0", "f" * 64, "m2", owner=OWNER)
    assert fake.count("DELETE", r"/instances/web-0") == 0 and fake.count("POST", CREATE + TARGETED) == 1


def test_a_never_started_leftover_is_told_apart_from_one_that_ran(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m2", status="Stopped", lifecycle="created", config={MANAGED_KEY: "true",
                                                                                    OWNER_KEY: OWNER})
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == ADOPTED_UNSTARTED
    fake.instances["web-0"]["config"][LAST_POWER_KEY] = "STOPPED"
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == ADOPTED
    assert never_started({"type": "container", "config": {PENDING_TEMPLATES_KEY: "create"}})
    assert not never_started({"type": "virtual-machine", "config": {PENDING_TEMPLATES_KEY: "create"}})


@pytest.mark.parametrize("server", ["lxd", "incus"])
def test_a_migration_is_seen_under_way_by_each_servers_own_sign(server: str) -> None:
    """LXD: its copy `lxd-move-of-<uuid>` exists on the target. Incus makes no copy: the instance is stopped
    and an operation works on it. (The soak fires its faults then.)"""
    fake = FakeLxd.cluster(server=server)
    fake.add_instance("web-0", "m1", status="Stopped")
    assert not migration_under_way(fake.client(), "web-0")
    if server == "lxd":
        fake.add_instance("lxd-move-of-uuid-web-0", "m2", status="Stopped")
    else:
        fake.running_operations.append({"id": "op-move", "status": "Running",
                                        "resources": {"instances": ["/1.0/instances/web-0?project=default"]}})
    assert migration_under_way(fake.client(), "web-0")
    assert not migration_under_way(fake.client(), "gone")
