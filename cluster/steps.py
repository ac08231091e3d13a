"""Idempotent instance steps: create, start, stop, move, delete, exec.

Each step is a loop of attempts, and every attempt starts by reading the instance from the cluster
and continues from what it shows, so a retry after a hiccup never repeats what already happened:
- create: the instance exists and is ours (our earlier create landed, its response was lost) -> adopt;
  it exists, ours, but its create was cut off before LXD made its storage (the member died) -> deleted
  (never started first) and created again; it exists and is someone else's -> refuse; the target member is
  not ONLINE yet -> wait (bounded).
- move: already on the target -> done (LXD refuses a move to the current member); target not ONLINE
  -> wait; stopped by an earlier attempt -> started again at the end if it was running before (also when
  the move finally fails: a stopped maintenance leaves the service running where it is); LXD's
  own move interrupted half way (its copy `lxd-move-of-<uuid>` left behind) -> finished or undone first
  (Incus 6.0 makes no such copy: it moves the instance under its own name).
- start/stop: already in that state -> done.
- delete: already gone -> done.
Transient errors (cluster/retry.py) are retried a bounded number of times; an error saying the instance's
member does not answer (its daemon restarts) is retried for up to MEMBER_WAIT_S; real errors surface at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from cluster.errors import OwnershipConflict, StepFailed, TransientError
from cluster.facts import (
    MANAGED_KEY,
    MEMBER_WAIT_S,
    OWNER_KEY,
    create_cut_off,
    global_ipv4,
    is_running,
    never_started,
    read_instance,
    read_state,
    wait_member_online,
)
from cluster.operations import ExecResult, OperationFailed, execute, finish, post_and_wait, pull_file
from cluster.polling import WaitTimeout, wait_until
from cluster.retry import with_retries
from cluster.server_family import LXD, ServerFamily, server_family

CREATE_TIMEOUT_S = 300
STATE_TIMEOUT_S = 120
MOVE_TIMEOUT_S = 300
DELETE_TIMEOUT_S = 120
ADDRESS_TIMEOUT_S = 90
STOP_GRACE_S = 30

log = logging.getLogger(__name__)

# LXD's answers (whole phrases) while an instance's record changes hands between members during a move
RECORD_IN_FLUX = ("failed to get address of instance's member", "instance not found")
# A copy that broke off mid-transfer leaves its volume on the target until LXD's receiving side gives up
# (the soak saw 10-30 s): the next move to that member fails with this until then.
TARGET_LEFTOVER = "already exists on migration target storage"
MOVE_ATTEMPTS = 12  # the default 8 rides out a restart; a leftover copy on the target can take longer


class InstanceInFlux(TransientError):
    """The instance is briefly unreadable while the cluster moves it between members."""


class TargetHoldsALeftoverCopy(TransientError):
    """The target member still holds the volume of a copy that broke off; LXD removes it when its
    receiving side gives up, so the move is tried again (the cluster re-read first)."""


T = TypeVar("T")
# what ensure_created did; ADOPTED_UNSTARTED: adopted a record that never started (nothing in it ever ran)
CREATED, ADOPTED, ADOPTED_UNSTARTED = "created", "adopted", "adopted, never started"
INIT_PATH = "/sbin/init"  # what a system container's start runs: a root filesystem without it is partial


def gone_error(name: str) -> StepFailed:
    return StepFailed(f"instance {name}", "does not exist in the cluster (deleted outside this program?)",
                      "run `pulumi refresh` so the stack forgets it, then `pulumi up` to create it again")


def ownership_problem(name: str, config: Mapping[str, str], owner: str | None) -> str | None:
    """Why an existing instance of that name must not be adopted (it is someone else's), or None."""
    if config.get(MANAGED_KEY) != "true":
        return f"an instance named {name!r} already exists and was not created by lxdha"
    current = config.get(OWNER_KEY)
    if current and owner and current != owner:
        return f"an instance named {name!r} already exists, managed by stack {current}"
    return None


def foreign_owner(config: Mapping[str, str], owner: str | None) -> str | None:
    """The other stack that marked this object as its own, or None (ours, or unmarked)."""
    current = config.get(OWNER_KEY)
    return current if current and owner and current != owner else None


def ensure_created(client: pylxd.Client, body: dict[str, Any], member: str | None, owner: str | None,
                   member_wait_s: float = MEMBER_WAIT_S) -> str:
    """Creates the instance on `member` (None: where LXD places it); returns CREATED, or ADOPTED (or
    ADOPTED_UNSTARTED) when it already exists and is ours."""
    name = body["name"]

    def attempt() -> str:
        if member:  # first: an instance record on a member whose daemon is down cannot even be read
            wait_member_online(client, member, timeout_s=member_wait_s)
        existing = read_instance(client, name)
        if existing is not None:
            problem = ownership_problem(name, existing.get("config") or {}, owner)
            if problem:
                raise OwnershipConflict(f"instance {name}", problem,
                                        "give this stack's containers another name (prefix), or remove that instance")
            if not create_cut_off(existing) or not _remove_cut_off_record(client, name):
                return ADOPTED_UNSTARTED if never_started(existing) else ADOPTED
        post_and_wait(client, client.api.instances, body, CREATE_TIMEOUT_S, f"create {name} on {member or 'any'}",
                      params={"target": member} if member else None)
        return CREATED

    return with_retries(attempt, f"create {name}", member_wait_s=member_wait_s)


def ensure_launched(client: pylxd.Client, name: str, fingerprint: str, member: str,
                    profiles: tuple[str, ...] = ("default",), owner: str | None = None) -> None:
    """A container from the image `fingerprint` on `member`, created if missing, then running."""
    body = {"name": name, "type": "container", "profiles": list(profiles),
            "source": {"type": "image", "fingerprint": fingerprint}}
    started_or_remade(client, body, member, owner, ensure_created(client, body, member, owner),
                      lambda _outcome: ensure_running(client, name))


def started_or_remade(client: pylxd.Client, body: dict[str, Any], member: str | None, owner: str | None,
                      outcome: str, start: Callable[[str], T]) -> T:
    """`start(outcome)`; when it fails on a container that never ran and its root filesystem is partial
    (remake_if_unpack_cut_off), once more on the container made again (`start(CREATED)`)."""
    try:
        return start(outcome)
    except OperationFailed:
        if outcome == ADOPTED or not remake_if_unpack_cut_off(client, body, member, owner):
            raise
        return start(CREATED)


def remake_if_unpack_cut_off(client: pylxd.Client, body: dict[str, Any], member: str | None,
                             owner: str | None) -> bool:
    """For a container that never ran and did not start: True when its root filesystem lacks INIT_PATH,
    the mark of an image unpack cut off on its member. Incus 6.0 records the member's image volume
    before it unpacks it and later creates reuse it as it is (LXD records it after); so the container
    and that image volume are deleted, and the container created again from a fresh unpack. False,
    and nothing touched, when its root filesystem is whole (the start failed for another reason)."""
    name = body["name"]
    record = read_instance(client, name)
    if record is None or not _lacks_init(client, name):
        return False
    log.warning("%s: never ran, and its root filesystem has no %s (an unpack of its image on %s was cut off): "
                "deleting it and that member's copy of the image, then creating it again", name, INIT_PATH,
                record.get("location"))
    ensure_deleted(client, name, owner)
    _remove_image_volume(client, record)
    ensure_created(client, body, member, owner)
    return True


def _lacks_init(client: pylxd.Client, name: str) -> bool:
    try:
        return pull_file(client, name, INIT_PATH) is None
    except LXDAPIException as error:  # no root filesystem to read at all
        log.info("%s: its root filesystem cannot be read: %s", name, error)
        return True


def _remove_image_volume(client: pylxd.Client, record: Mapping[str, Any]) -> None:
    """Deletes the image volume the instance was made from, on the instance's member only."""
    pool = ((record.get("expanded_devices") or {}).get("root") or {}).get("pool")
    fingerprint = (record.get("config") or {}).get("volatile.base_image")
    if not pool or not fingerprint:
        return
    volume = client.api["storage-pools"][pool].volumes.image[fingerprint]
    with contextlib.suppress(NotFound):
        finish(client, volume.delete(params={"target": record["location"]}), DELETE_TIMEOUT_S,
               f"delete image volume {fingerprint[:12]} on {record['location']}")


def _remove_cut_off_record(client: pylxd.Client, name: str) -> bool:
    """Deletes the record a cut-off create left (nothing in it ever ran), without starting it first; False
    when a second look shows the create finished after all (an operation was still making it)."""
    if instance_busy(client, (name,)):
        raise InstanceInFlux(f"{name} is still being created by an earlier request")
    current = read_instance(client, name)  # no operation works on it now: what it shows is final
    if current is None:
        return True
    if not create_cut_off(current):
        return False
    log.info("%s: its earlier create was cut off before LXD made its storage; deleting the record to create it "
             "again", name)
    with contextlib.suppress(NotFound):
        finish(client, client.api.instances[name].delete(), DELETE_TIMEOUT_S, f"delete {name}")
    return True


def _put_state(client: pylxd.Client, name: str, action: str, force: bool = False) -> None:
    body = {"action": action, "timeout": STOP_GRACE_S, "force": force}
    finish(client, client.api.instances[name].state.put(json=body), STATE_TIMEOUT_S, f"{action} {name}")


def _status_step(client: pylxd.Client, name: str, running: bool, force: bool = False) -> None:
    """One attempt: read, then start or stop only if the instance is not in that state yet."""
    current = read_instance(client, name)
    if current is None:
        raise gone_error(name)
    if is_running(current) != running:
        _put_state(client, name, "start" if running else "stop", force=force)


def ensure_running(client: pylxd.Client, name: str) -> None:
    with_retries(lambda: _status_step(client, name, True), f"start {name}", member_wait_s=MEMBER_WAIT_S)


def ensure_stopped(client: pylxd.Client, name: str, force: bool = False) -> None:
    with_retries(lambda: _status_step(client, name, False, force), f"stop {name}", member_wait_s=MEMBER_WAIT_S)


def ensure_moved(client: pylxd.Client, name: str, target: str, keep_running: bool | None = None,
                 member_wait_s: float = MEMBER_WAIT_S) -> bool:
    """Stop -> move -> start (a stateless move: no CRIU). True when the instance changed member.

    `keep_running`: whether it must run afterwards; default: whether it runs now. Decided once, before
    the first attempt, so an attempt that already stopped it still starts it again.
    """
    first = read_instance(client, name)
    if first is None:
        raise gone_error(name)
    if first.get("location") == target:
        if keep_running:
            ensure_running(client, name)
        return False
    start_after = is_running(first) if keep_running is None else keep_running
    copy_name = move_copy_name(first, server_family(client))
    log.info("moving %s from %s to %s", name, first.get("location"), target)

    def attempt() -> None:
        current = _settle_interrupted_move(client, name, copy_name)
        if current.get("location") != target:
            wait_member_online(client, target, timeout_s=member_wait_s)
            if is_running(current):
                _put_state(client, name, "stop")
            try:
                post_and_wait(client, client.api.instances[name], {"name": name, "migration": True, "live": False},
                              MOVE_TIMEOUT_S, f"move {name} to {target}", params={"target": target})
            except OperationFailed as error:
                if any(phrase in str(error).lower() for phrase in RECORD_IN_FLUX):
                    raise InstanceInFlux(str(error)) from error  # the record is changing hands: re-read
                if TARGET_LEFTOVER in str(error).lower():
                    raise TargetHoldsALeftoverCopy(str(error)) from error
                raise
        if start_after:
            _status_step(client, name, True)

    try:
        with_retries(attempt, f"move {name} to {target}", attempts=MOVE_ATTEMPTS, deadline_s=240.0)
    except Exception:
        if start_after:
            _restart_after_failed_move(client, name)
        raise
    return True


def _restart_after_failed_move(client: pylxd.Client, name: str) -> None:
    """A move that gives up has usually stopped the instance already: start it where it is, so a stopped
    maintenance leaves the service as it found it (best effort: the move's own error is what surfaces)."""
    try:
        with_retries(lambda: _status_step(client, name, True), f"start {name} after a failed move", attempts=3,
                     deadline_s=60)
        log.info("%s: the move failed; started it again where it is", name)
    except Exception as error:  # noqa: BLE001 - reported; the caller raises the move's error
        log.warning("%s: the move failed and it could not be started again: %s: %s", name, type(error).__name__,
                    error)


def move_copy_name(record: Mapping[str, Any], family: ServerFamily = LXD) -> str | None:
    """The name LXD 5.0 gives the copy it makes on the target member when it moves an instance between
    members on local storage (copy -> delete the original -> rename the copy); None on Incus 6.0, which
    creates the instance on the target under its own name and then points its record there."""
    uuid = (record.get("config") or {}).get("volatile.uuid")
    return f"{family.move_copy_prefix}{uuid}" if uuid and family.move_copy_prefix else None


def instance_busy(client: pylxd.Client, names: tuple[str, ...]) -> bool:
    """True while an LXD operation anywhere in the cluster still works on one of these instances."""
    running = client.api.operations.get(params={"recursion": "1"}).json()["metadata"].get("running") or []
    wanted = {f"/1.0/instances/{n}" for n in names}
    return any(url.split("?", 1)[0] in wanted for op in running
               for urls in (op.get("resources") or {}).values() for url in urls or ())


def migration_under_way(client: pylxd.Client, name: str) -> bool:
    """True while a move of `name` between members is past its stop and copying: LXD's copy exists on the
    target; Incus makes none, so there: the instance is stopped and an operation works on it."""
    record = read_instance(client, name)
    if record is None:
        return False
    copy_name = move_copy_name(record, server_family(client))
    if copy_name:
        return read_instance(client, copy_name) is not None
    return record.get("status") == "Stopped" and instance_busy(client, (name,))


def _settle_interrupted_move(client: pylxd.Client, name: str, copy_name: str | None) -> dict[str, Any]:
    """The instance's record, after finishing what an interrupted LXD move left half done: only the copy
    exists (the original was deleted, the rename never came) -> rename it back; the original and a copy
    exist (the original was never deleted) -> remove the copy, so the move can be made again. Nothing is
    touched while an operation still works on either (LXD's own move may still be under way)."""
    current = read_instance(client, name)
    copy = read_instance(client, copy_name) if copy_name else None
    if copy is None:
        if current is None:
            raise InstanceInFlux(f"{name} is not readable right now (a move may be under way)")
        return current
    if instance_busy(client, (name, str(copy_name))):
        raise InstanceInFlux(f"LXD is still moving {name} (its copy {copy_name} is being worked on)")
    current, copy = read_instance(client, name), read_instance(client, str(copy_name))
    if copy is not None and current is None:
        log.info("%s: an interrupted move deleted the original and left its copy %s on %s: renaming the copy back",
                 name, copy_name, copy.get("location"))
        post_and_wait(client, client.api.instances[copy_name], {"name": name}, STATE_TIMEOUT_S,
                      f"rename {copy_name} to {name}")
    elif copy is not None:
        log.info("%s: removing %s, the copy an interrupted move left on %s", name, copy_name, copy.get("location"))
        finish(client, client.api.instances[copy_name].delete(), DELETE_TIMEOUT_S, f"delete {copy_name}")
    current = read_instance(client, name)
    if current is None:
        raise InstanceInFlux(f"{name} is not readable right now (a move may be under way)")
    return current


def ensure_deleted(client: pylxd.Client, name: str, owner: str | None = None) -> bool:
    """Stops and deletes; already gone is success. With `owner`, refuses an instance another stack
    marked as its own. True when something was deleted by this call."""
    deleted = []

    def attempt() -> None:
        current = read_instance(client, name)
        if current is None:
            return
        other = foreign_owner(current.get("config") or {}, owner)
        if other:
            raise OwnershipConflict(f"instance {name}", f"it is managed by stack {other}, so it is not deleted",
                                    "delete it from that stack, or by hand if it really should go")
        if is_running(current):
            _put_state(client, name, "stop", force=True)
        try:
            finish(client, client.api.instances[name].delete(), DELETE_TIMEOUT_S, f"delete {name}")
        except NotFound:
            return
        deleted.append(name)

    with_retries(attempt, f"delete {name}", member_wait_s=MEMBER_WAIT_S)
    return bool(deleted)


def wait_for_ipv4(client: pylxd.Client, name: str, interface: str | None = "eth0",
                  timeout_s: float = ADDRESS_TIMEOUT_S) -> str:
    """The instance's global IPv4 address once DHCP has given it one."""
    def address() -> str | None:
        addresses = with_retries(lambda: global_ipv4(read_state(client, name), interface), f"read {name}'s address",
                                 member_wait_s=MEMBER_WAIT_S)
        return addresses[0] if addresses else None

    try:
        return wait_until(address, timeout_s=timeout_s, what=f"an IPv4 address for {name}")
    except WaitTimeout:
        raise StepFailed(f"instance {name}", f"got no IPv4 address on {interface or 'any interface'} "
                         f"within {timeout_s:.0f}s", "check DHCP on the instances' network segment") from None


def run_in_instance(client: pylxd.Client, name: str, command: list[str], timeout_s: float,
                    what: str) -> ExecResult:
    """Runs an idempotent command; a retry first checks the instance still exists and runs."""

    def attempt() -> ExecResult:
        _status_step(client, name, True)
        return execute(client, name, command, timeout_s=timeout_s)

    return with_retries(attempt, what, member_wait_s=MEMBER_WAIT_S)
