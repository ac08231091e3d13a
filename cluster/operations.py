"""Requests to LXD and the operations they start: the one wait for an operation (with our own
deadline), reads that treat "not found" as an answer, file pushes, and exec whose output LXD records
(so no unpinned websocket is ever opened). The lab's daemons and the cluster are driven the same way."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from cluster.errors import TransientError
from cluster.server_family import server_family

WAIT_SLICE_S = 20
EARLY_ANSWER_PAUSE_S = 0.5  # a forwarded operation may answer /wait before it ends: never spin on it


class OperationFailed(RuntimeError):
    """An LXD request or background operation failed; the message is LXD's own. `response` is the HTTP
    response when LXD refused the request itself (so retry classification can see its status)."""

    def __init__(self, message: str, response: Any = None) -> None:
        super().__init__(message)
        self.response = response


class OperationLost(TransientError):
    """LXD no longer knows the operation; whether it finished must be read from the cluster."""


class OperationTimeout(TimeoutError):
    """An operation did not finish within its deadline (it may still finish on the cluster)."""


def operation_id(response_json: dict[str, Any]) -> str:
    """The id in LXD's operation URL, without the `?project=...` LXD appends: left in, "/wait" would
    land inside the query string and turn every long-poll into an instant GET (a busy loop)."""
    return response_json["operation"].split("?", 1)[0].rstrip("/").split("/")[-1]


def wait_operation(client: pylxd.Client, op_id: str, timeout_s: float, what: str) -> dict[str, Any]:
    """Metadata of the finished operation; raises on failure or after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OperationTimeout(f"{what}: still running after {timeout_s:.0f}s")
        slice_s = max(1, min(WAIT_SLICE_S, int(remaining)))
        asked = time.monotonic()
        try:
            response = client.api.operations[op_id].wait.get(params={"timeout": slice_s}, timeout=slice_s + 15)
        except NotFound as error:
            # the member that ran it restarted (or the answer went to another member): the caller re-reads
            raise OperationLost(f"{what}: LXD no longer knows operation {op_id}") from error
        except LXDAPIException as error:
            raise OperationFailed(f"{what}: {error}", error.response) from error
        metadata = response.json().get("metadata") or {}
        status = metadata.get("status")
        if status == "Success":
            return metadata
        if status in ("Failure", "Cancelled"):
            raise OperationFailed(f"{what}: {metadata.get('err') or status}")
        if time.monotonic() - asked < EARLY_ANSWER_PAUSE_S:
            time.sleep(EARLY_ANSWER_PAUSE_S)


def finish(client: pylxd.Client, response: Any, timeout_s: float, what: str) -> dict[str, Any]:
    """What a request produced: the answer's metadata, or, when LXD started an operation for it, the
    finished operation's metadata (a created image's fingerprint, an exec's return code)."""
    body = response.json()
    if body.get("type") != "async":
        return body.get("metadata") or {}
    return wait_operation(client, operation_id(body), timeout_s, what).get("metadata") or {}


def send_and_wait(client: pylxd.Client, request: Callable[[], Any], timeout_s: float, what: str) -> dict[str, Any]:
    """Sends `request` (a pylxd call) and waits for what it started; LXD's refusal becomes OperationFailed."""
    try:
        response = request()
    except NotFound:
        raise
    except LXDAPIException as error:
        raise OperationFailed(f"{what}: {error}", error.response) from error
    return finish(client, response, timeout_s, what)


def post_and_wait(client: pylxd.Client, node: Any, body: dict[str, Any], timeout_s: float, what: str,
                  params: dict[str, str] | None = None) -> dict[str, Any]:
    """POST to an async endpoint and wait for its operation."""
    # a dict even when empty: a client bound to a project adds `project` to it (pylxd cannot add it to None)
    return send_and_wait(client, lambda: node.post(json=body, params=dict(params or {})), timeout_s, what)


def get_or_none(node: Any, params: dict[str, str] | None = None) -> Any:
    """The metadata of a GET, or None when LXD says there is no such object."""
    try:
        return (node.get() if params is None else node.get(params=params)).json()["metadata"]
    except NotFound:
        return None


FILE_TIMEOUT_S = 60


def push_file(client: pylxd.Client, instance: str, path: str, content: bytes, mode: str = "0644",
              uid: int = 0, gid: int = 0, kind: str = "file") -> None:
    """Writes `content` to `path` inside the instance (replacing a file there); `kind="directory"` makes a
    directory. NotFound: the instance, or the directory `path` goes into, does not exist."""
    family = server_family(client)
    headers = {family.header("type"): kind, family.header("mode"): mode, family.header("uid"): str(uid),
               family.header("gid"): str(gid), "Content-Type": "application/octet-stream"}
    send_and_wait(client, lambda: client.api.instances[instance].files.post(params={"path": path}, data=content,
                                                                           headers=headers),
                  FILE_TIMEOUT_S, f"push {path} into {instance}")


@dataclass(frozen=True)
class FileInInstance:
    """A file or directory as LXD's file API shows it (content: a file's bytes)."""

    kind: str
    content: bytes
    uid: int
    gid: int
    mode: str  # octal, four digits


def pull_file(client: pylxd.Client, instance: str, path: str) -> FileInInstance | None:
    """`path` inside the instance; None when it (or the instance) does not exist."""
    try:  # a raw GET: the answer is the file itself, its owner and mode in headers
        response = client.api.instances[instance].files.get(params={"path": path}, is_api=False)
    except NotFound:
        return None
    family, headers = server_family(client), response.headers
    return FileInInstance(headers.get(family.header("type"), "file"), response.content,
                          int(headers.get(family.header("uid"), "0")), int(headers.get(family.header("gid"), "0")),
                          f"{int(headers.get(family.header('mode'), '0'), 8):04o}")


def delete_file(client: pylxd.Client, instance: str, path: str) -> None:
    """Removes `path` inside the instance; NotFound when it is not there."""
    send_and_wait(client, lambda: client.api.instances[instance].files.delete(params={"path": path}),
                  FILE_TIMEOUT_S, f"delete {path} in {instance}")


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def execute(client: pylxd.Client, instance: str, command: list[str], timeout_s: float,
            environment: dict[str, str] | None = None) -> ExecResult:
    """Run `command` in `instance` and return its exit code and recorded output."""
    body = {
        "command": command,
        "environment": environment or {},
        "interactive": False,
        "wait-for-websocket": False,
        "record-output": True,
    }
    node = client.api.instances[instance].exec
    result = post_and_wait(client, node, body, timeout_s, f"exec in {instance}")
    logs = result.get("output") or {}
    return ExecResult(int(result.get("return", -1)), _fetch_log(client, logs.get("1")),
                      _fetch_log(client, logs.get("2")))


def _fetch_log(client: pylxd.Client, path: str | None) -> str:
    if not path:
        return ""
    relative = path.split("/1.0/", 1)[1]
    node = client.api
    for part in relative.split("/"):
        node = node[part]
    # a raw GET: pylxd's get() parses the body as JSON and trips over a log that happens to be JSON ("401")
    response = node.session.get(node._api_endpoint, timeout=60)
    response.raise_for_status()
    text = response.text
    with contextlib.suppress(LXDAPIException):  # the log goes with the instance anyway
        node.delete()
    return text
