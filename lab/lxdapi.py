"""Minimal LXD REST client over a daemon's local unix socket (LXD_DIR/unix.socket).

The lab administers its daemons locally — no `lxc` client config, no HTTPS trust needed — and
waits for background operations itself.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from lab.proc import LabError


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: Path, timeout: float) -> None:
        super().__init__("lxd", timeout=timeout)
        self._socket_path = str(socket_path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class LocalLxd:
    """One daemon, addressed by its LXD_DIR."""

    def __init__(self, lxd_dir: Path, timeout: float = 60) -> None:
        self.lxd_dir = lxd_dir
        self.socket_path = lxd_dir / "unix.socket"
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, *, raw: BinaryIO | bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> dict:
        conn = _UnixConnection(self.socket_path, timeout or self.timeout)
        try:
            all_headers = dict(headers or {})
            payload: Any = None
            if raw is not None:
                payload = raw
                all_headers.setdefault("Content-Type", "application/octet-stream")
            elif body is not None:
                payload = json.dumps(body).encode()
                all_headers["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as error:
            raise LabError(f"LXD at {self.lxd_dir}: {method} {path}: {error}") from error
        finally:
            conn.close()
        try:
            decoded = json.loads(data) if data else {}
        except ValueError as error:
            raise LabError(f"LXD at {self.lxd_dir}: {method} {path}: not JSON: {data[:200]!r}") from error
        if decoded.get("type") == "error" or response.status >= 400:
            raise LxdApiError(response.status, f"{method} {path}: {decoded.get('error') or data[:300]!r}")
        return decoded

    def get(self, path: str) -> Any:
        return self.request("GET", path)["metadata"]

    def sync(self, method: str, path: str, body: Any = None, *, timeout: float = 120, **kwargs: Any) -> Any:
        """A request whose background operation (if any) is waited for; returns its metadata."""
        response = self.request(method, path, body, **kwargs)
        if response.get("type") != "async":
            return response.get("metadata")
        return self.wait_operation(response["operation"], timeout)

    def wait_operation(self, operation: str, timeout: float) -> Any:
        operation = operation.split("?", 1)[0]  # "/wait" must not land inside a "?project=..." query
        deadline = time.monotonic() + timeout
        while True:
            left = max(1, int(deadline - time.monotonic()))
            meta = self.request("GET", f"{operation}/wait?timeout={min(left, 30)}", timeout=left + 10)["metadata"]
            if meta["status"] == "Success":
                return meta.get("metadata")
            if meta["status"] in ("Failure", "Cancelled"):
                raise LabError(f"LXD operation {operation} failed: {meta.get('err')}")
            if time.monotonic() >= deadline:
                raise LabError(f"LXD operation {operation} still {meta['status']} after {timeout}s")

    def ready(self) -> bool:
        try:
            return self.request("GET", "/1.0", timeout=5)["metadata"].get("api_status") is not None
        except (LabError, LxdApiError):
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        """`lxd waitready` equivalent: the daemon answers and has finished its start-up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/internal/ready", timeout=5)
                return
            except (LabError, LxdApiError):
                time.sleep(0.2)
        raise LabError(f"LXD at {self.lxd_dir} not ready after {timeout}s; see its lxd.log")

    def server(self) -> dict:
        return self.get("/1.0")


class LxdApiError(LabError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def q(value: str) -> str:
    return quote(value, safe="")
