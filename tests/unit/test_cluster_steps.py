"""Each mutating step driven through a fake LXD that fails in the ways a real cluster does; every retry
must re-read the cluster and continue from what it shows (never repeat what already happened)."""

from __future__ import annotations

import time

import pytest

from cluster.errors import MemberNotOnline, OwnershipConflict, StepFailed
from cluster.facts import MANAGED_KEY, OWNER_KEY
from cluster.operations import OperationFailed
from cluster.steps import (
    ensure_created,
    ensure_deleted,
    ensure_moved,
    ensure_running,
    ensure_stopped,
    run_in_instance,
)
from tests.support.fake_lxd import FakeLxd

OWNER = "lxdha/test"
BODY = {"name": "web-0", "type": "container", "source": {"type": "image", "alias": "debian/stable"},
        "config": {MANAGED_KEY: "true", OWNER_KEY: OWNER}, "profiles": ["default"], "devices": {}}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


@pytest.fixture
def fake() -> FakeLxd:
    cluster = FakeLxd.cluster()
    cluster.add_image("a" * 64, aliases=("debian/stable",))
    return cluster


CREATE = r"/instances"


def test_create_whose_answer_was_lost_is_adopted_not_repeated(fake: FakeLxd) -> None:
    fake.fail("POST", CREATE, kind="lost")
    assert ensure_created(fake.client(), dict(BODY), "m2", OWNER) == "adopted"
    assert fake.count("POST", CREATE + TARGETED) == 1
    assert fake.instances["web-0"]["location"] == "m2"


def test_create_retries_a_locked_database_and_creates_once(fake: FakeLxd) -> None:
    fake.fail("POST", CREATE, message="Failed to begin transaction: database is locked", times=2)
    assert ensure_created(fake.client(), dict(BODY), "m1", OWNER) == "created"
    assert fake.count("POST", CREATE + TARGETED) == 3 and list(fake.instances) == ["web-0"]


def test_create_waits_for_its_member_to_come_back(fake: FakeLxd) -> None:
    fake.offline_reads["m3"] = 3
    assert ensure_created(fake.client(), dict(BODY), "m3", OWNER) == "created"
    assert fake.instances["web-0"]["location"] == "m3"


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
