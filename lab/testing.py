"""Client-side helpers for tests against the lab, over the REST API through the load balancer
(no websockets: exec uses LXD's recorded output, so no background threads are left behind)."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from lab.config import DHCP_RANGE
from lab.info import LabInfo
from lab.proc import LabError


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def _wait(client: Any, response: Any, timeout: float) -> dict:
    body = response.json()
    if body.get("type") == "error":
        raise LabError(f"LXD error: {body.get('error')}")
    operation = body.get("operation")
    if not operation:
        return body.get("metadata") or {}
    node = client.api.operations[operation.split("?", 1)[0].split("/")[-1]]  # drop "?project=..."
    deadline = time.monotonic() + timeout
    while True:
        # a forwarded operation (running on another member) may answer /wait before it ends
        left = max(1, int(deadline - time.monotonic()))
        result = node.wait.get(params={"timeout": min(left, 30)}, timeout=min(left, 30) + 15).json()
        meta = result.get("metadata") or {}
        if result.get("type") == "error":
            raise LabError(f"LXD operation failed: {result.get('error')}")
        if meta.get("status") not in ("Running", "Pending") or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if meta.get("status") != "Success":
        raise LabError(f"LXD operation {meta.get('status')}: {meta.get('err')}")
    return meta.get("metadata") or {}


def copy_image_from_remote(info: LabInfo, client: Any, alias: str | None = None) -> str:
    """Copies the image from the lab's image remote into the cluster (a "pull"); returns its fingerprint."""
    alias = alias or info.image_source["alias"]
    source = {k: v for k, v in info.image_source.items()} | {"alias": alias}
    response = client.api.images.post(json={"source": source, "aliases": [], "public": False})
    meta = _wait(client, response, 300)
    return meta.get("fingerprint", "")


def launch(client: Any, name: str, *, target: str, fingerprint: str, timeout: float = 180,
           profiles: list[str] | None = None) -> None:
    response = client.api.instances.post(params={"target": target}, json={
        "name": name, "type": "container", "profiles": profiles or ["default"],
        "source": {"type": "image", "fingerprint": fingerprint}})
    _wait(client, response, timeout)
    response = client.api.instances[name].state.put(json={"action": "start", "timeout": 60})
    _wait(client, response, timeout)


def delete(client: Any, name: str, timeout: float = 120) -> None:
    """Force-stops and deletes; tolerates an instance that is already gone."""
    from pylxd.exceptions import NotFound

    try:
        state = client.api.instances[name].state.get()
    except NotFound:
        return
    if (state.json().get("metadata") or {}).get("status") != "Stopped":
        _wait(client, client.api.instances[name].state.put(json={"action": "stop", "force": True}), timeout)
    _wait(client, client.api.instances[name].delete(), timeout)


def stop(client: Any, name: str, *, force: bool = True, timeout: float = 60) -> None:
    _wait(client, client.api.instances[name].state.put(json={"action": "stop", "force": force,
                                                             "timeout": int(timeout)}), timeout + 10)


def location(client: Any, name: str) -> str:
    return client.api.instances[name].get().json()["metadata"]["location"]


def ipv4(client: Any, name: str, *, timeout: float = 60) -> str:
    """The instance's DHCP address on eth0, waited for (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.api.instances[name].state.get().json()["metadata"] or {}
        for addr in ((state.get("network") or {}).get("eth0") or {}).get("addresses", []):
            if addr["family"] == "inet" and addr["scope"] == "global":
                return addr["address"]
        if time.monotonic() >= deadline:
            raise LabError(f"{name} got no IPv4 address on eth0 within {timeout:.0f}s")
        time.sleep(0.25)


def in_dhcp_range(address: str) -> bool:
    low, high = (ipaddress.IPv4Address(a) for a in DHCP_RANGE)
    return low <= ipaddress.IPv4Address(address) <= high


def execute(client: Any, name: str, command: list[str], *, timeout: float = 300,
            env: dict[str, str] | None = None) -> ExecResult:
    response = client.api.instances[name].exec.post(json={
        "command": command, "record-output": True, "wait-for-websocket": False, "interactive": False,
        "environment": env or {}})
    meta = _wait(client, response, timeout)
    outputs = meta.get("output") or {}

    def read(fd: str) -> str:
        path = outputs.get(fd)
        if not path:
            return ""
        log_name = path.rsplit("/", 1)[-1]
        node = client.api.instances[name].logs[log_name]
        # raw GET: pylxd's get() parses the body as JSON and fails on output that happens to be JSON
        text = node.session.get(node._api_endpoint, timeout=60).text
        node.delete()
        return text

    return ExecResult(int(meta.get("return", -1)), read("1"), read("2"))


def push_file(client: Any, name: str, path: str, content: bytes, mode: str = "0644") -> None:
    response = client.api.instances[name].files.post(params={"path": path}, data=content, headers={
        "X-LXD-type": "file", "X-LXD-mode": mode, "X-LXD-uid": "0", "X-LXD-gid": "0",
        "Content-Type": "application/octet-stream"})
    if response.status_code != 200:
        raise LabError(f"pushing {path} into {name} failed: {response.text[:300]}")
