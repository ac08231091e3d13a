"""Idempotent instance steps: create, start, stop, move, delete, exec.

Each step is a loop of attempts, and every attempt starts by reading the instance from the cluster
and continues from what it shows, so a retry after a hiccup never repeats what already happened:
- create: the instance exists and is ours (our earlier create landed, its response was lost) -> adopt;
  it exists and is someone else's -> refuse; the target member is not ONLINE yet -> wait (bounded).
- move: already on the target -> done (LXD refuses a move to the current member); target not ONLINE
  -> wait; stopped by an earlier attempt -> started again at the end if it was running before.
- start/stop: already in that state -> done.
- delete: already gone -> done.
Transient errors (cluster/retry.py) are retried a bounded number of times; real errors surface at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import pylxd
from pylxd.exceptions import NotFound

from cluster.errors import OwnershipConflict, StepFailed, TransientError
from cluster.facts import MANAGED_KEY, OWNER_KEY, global_ipv4, read_instance, read_state, wait_member_online
from cluster.operations import ExecResult, OperationFailed, execute, operation_id, post_and_wait, wait_operation
from cluster.retry import with_retries

CREATE_TIMEOUT_S = 300
STATE_TIMEOUT_S = 120
MOVE_TIMEOUT_S = 300
DELETE_TIMEOUT_S = 120
ADDRESS_TIMEOUT_S = 90
STOP_GRACE_S = 30

Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class InstanceInFlux(TransientError):
    """The instance is briefly unreadable while the cluster moves it between members."""


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
                   member_wait_s: float = 120.0) -> str:
    """Creates the instance on `member` (None: where LXD places it); returns "created", or "adopted" when
    it already exists and is ours."""
    name = body["name"]

    def attempt() -> str:
        existing = read_instance(client, name)
        if existing is not None:
            problem = ownership_problem(name, existing.get("config") or {}, owner)
            if problem:
                raise OwnershipConflict(f"instance {name}", problem,
                                        "give this stack's containers another name (prefix), or remove that instance")
            return "adopted"
        if member:
            wait_member_online(client, member, timeout_s=member_wait_s)
        post_and_wait(client, client.api.instances, body, CREATE_TIMEOUT_S, f"create {name} on {member or 'any'}",
                      params={"target": member} if member else None)
        return "created"

    return with_retries(attempt, f"create {name}")


def _put_state(client: pylxd.Client, name: str, action: str, force: bool = False) -> None:
    response = client.api.instances[name].state.put(json={"action": action, "timeout": STOP_GRACE_S, "force": force})
    wait_operation(client, operation_id(response.json()), STATE_TIMEOUT_S, f"{action} {name}")


def _status_step(client: pylxd.Client, name: str, running: bool, force: bool = False) -> None:
    """One attempt: read, then start or stop only if the instance is not in that state yet."""
    current = read_instance(client, name)
    if current is None:
        raise gone_error(name)
    if (current.get("status") == "Running") != running:
        _put_state(client, name, "start" if running else "stop", force=force)


def ensure_running(client: pylxd.Client, name: str) -> None:
    with_retries(lambda: _status_step(client, name, True), f"start {name}")


def ensure_stopped(client: pylxd.Client, name: str, force: bool = False) -> None:
    with_retries(lambda: _status_step(client, name, False, force), f"stop {name}")


def ensure_moved(client: pylxd.Client, name: str, target: str, keep_running: bool | None = None,
                 member_wait_s: float = 120.0, say: Say = _say) -> bool:
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
    start_after = first.get("status") == "Running" if keep_running is None else keep_running
    say(f"moving {name} from {first.get('location')} to {target}")

    def attempt() -> None:
        current = read_instance(client, name)
        if current is None:
            raise InstanceInFlux(f"{name} is not readable right now (a move may be under way)")
        if current.get("location") != target:
            wait_member_online(client, target, timeout_s=member_wait_s)
            if current.get("status") == "Running":
                _put_state(client, name, "stop")
            try:
                post_and_wait(client, client.api.instances[name], {"name": name, "migration": True, "live": False},
                              MOVE_TIMEOUT_S, f"move {name} to {target}", params={"target": target})
            except OperationFailed as error:
                if "instance's member" in str(error) or "not found" in str(error).lower():
                    raise InstanceInFlux(str(error)) from error  # the record is changing hands: re-read
                raise
        if start_after:
            _status_step(client, name, True)

    with_retries(attempt, f"move {name} to {target}")
    return True


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
        if current.get("status") == "Running":
            _put_state(client, name, "stop", force=True)
        try:
            response = client.api.instances[name].delete()
            wait_operation(client, operation_id(response.json()), DELETE_TIMEOUT_S, f"delete {name}")
        except NotFound:
            return
        deleted.append(name)

    with_retries(attempt, f"delete {name}")
    return bool(deleted)


def wait_for_ipv4(client: pylxd.Client, name: str, interface: str | None = "eth0",
                  timeout_s: float = ADDRESS_TIMEOUT_S) -> str:
    """The instance's global IPv4 address once DHCP has given it one."""
    deadline = time.monotonic() + timeout_s
    while True:
        addresses = with_retries(lambda: global_ipv4(read_state(client, name), interface), f"read {name}'s address")
        if addresses:
            return addresses[0]
        if time.monotonic() >= deadline:
            raise StepFailed(f"instance {name}", f"got no IPv4 address on {interface or 'any interface'} "
                             f"within {timeout_s:.0f}s",
                             "check DHCP on the instances' network segment")
        time.sleep(0.5)


def run_in_instance(client: pylxd.Client, name: str, command: list[str], timeout_s: float,
                    what: str) -> ExecResult:
    """Runs an idempotent command; a retry first checks the instance still exists and runs."""

    def attempt() -> ExecResult:
        _status_step(client, name, True)
        return execute(client, name, command, timeout_s=timeout_s)

    return with_retries(attempt, what)
