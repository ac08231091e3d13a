"""Instance lifecycle on the cluster: create on a chosen member, start, wait for an address, move,
delete. Each call waits with its own deadline and retries only transient cluster errors."""

from __future__ import annotations

import sys
import time
from typing import Any

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from provisioners.lxd_ops import operation_id, post_and_wait, wait_operation
from provisioners.retry import with_retries

CREATE_TIMEOUT_S = 300
STATE_TIMEOUT_S = 120
MOVE_TIMEOUT_S = 300
ADDRESS_TIMEOUT_S = 90


def get_instance(client: pylxd.Client, name: str) -> dict[str, Any] | None:
    try:
        return client.api.instances[name].get().json()["metadata"]
    except NotFound:
        return None


def create_instance(client: pylxd.Client, body: dict[str, Any], member: str) -> None:
    """Creates the instance directly on `member` (never create-then-move)."""
    post_and_wait(client, client.api.instances, body, CREATE_TIMEOUT_S, f"create {body['name']} on {member}",
                  params={"target": member})


def set_state(client: pylxd.Client, name: str, action: str, force: bool = False) -> None:
    """start/stop/restart; asking for the state it is already in is a no-op."""
    current = get_instance(client, name)
    if current is None:
        raise NotFound(None)
    if (action == "start" and current["status"] == "Running") or (action == "stop" and current["status"] == "Stopped"):
        return
    response = client.api.instances[name].state.put(json={"action": action, "timeout": 30, "force": force})
    wait_operation(client, operation_id(response.json()), STATE_TIMEOUT_S, f"{action} {name}")


def wait_for_ipv4(client: pylxd.Client, name: str, interface: str = "eth0",
                  timeout_s: float = ADDRESS_TIMEOUT_S) -> str:
    """The instance's global IPv4 address once DHCP has given it one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.api.instances[name].state.get().json()["metadata"]
        for address in ((state.get("network") or {}).get(interface) or {}).get("addresses", []):
            if address.get("family") == "inet" and address.get("scope") == "global":
                return address["address"]
        time.sleep(0.5)
    raise TimeoutError(f"{name} got no IPv4 address on {interface} within {timeout_s:.0f}s: check DHCP on the segment")


def move_instance(client: pylxd.Client, name: str, target: str) -> bool:
    """Stop -> move -> start. Returns False (and does nothing) when already on `target`:
    LXD refuses a move to the current member, and the seed's script crashed on exactly that."""
    current = get_instance(client, name)
    if current is None:
        raise NotFound(None)
    if current.get("location") == target:
        return False
    was_running = current["status"] == "Running"
    print(f"moving {name} from {current.get('location')} to {target}", file=sys.stderr, flush=True)
    with_retries(lambda: set_state(client, name, "stop"), f"stop {name}")
    with_retries(
        lambda: post_and_wait(client, client.api.instances[name], {"name": name, "migration": True, "live": False},
                              MOVE_TIMEOUT_S, f"move {name} to {target}", params={"target": target}),
        f"move {name}",
    )
    if was_running:
        with_retries(lambda: set_state(client, name, "start"), f"start {name}")
    return True


def delete_instance(client: pylxd.Client, name: str) -> None:
    """Stop and delete; an instance that is already gone is success."""
    if get_instance(client, name) is None:
        return
    try:
        set_state(client, name, "stop", force=True)
        response = client.api.instances[name].delete()
        wait_operation(client, operation_id(response.json()), STATE_TIMEOUT_S, f"delete {name}")
    except NotFound:
        return
    except LXDAPIException as error:
        if "not found" in str(error).lower():
            return
        raise
