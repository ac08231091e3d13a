"""Operation waits must long-poll LXD's /wait endpoint, never spin on the operation itself.

A regression here is silent (everything still works) but costly: the benchmark found the LXD
daemons spending half the machine's CPU answering a busy loop of GETs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pylxd.client import _APINode

from cluster.operations import operation_id, wait_operation


@dataclass
class FakeResponse:
    body: dict[str, Any]
    status_code: int = 200

    def json(self) -> dict[str, Any]:
        return self.body


@dataclass
class RecordingSession:
    """Answers every GET with the next status; records the URL and parameters asked for."""

    statuses: list[str]
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        self.requests.append((url, dict(kwargs.get("params") or {})))
        return FakeResponse({"type": "sync", "metadata": {"status": self.statuses.pop(0), "err": ""}})


@dataclass
class FakeClient:
    api: _APINode


def test_operation_id_drops_the_project_query() -> None:
    assert operation_id({"operation": "/1.0/operations/5912c216?project=default"}) == "5912c216"
    assert operation_id({"operation": "/1.0/operations/5912c216"}) == "5912c216"


def test_wait_operation_long_polls_the_wait_endpoint() -> None:
    session = RecordingSession(["Running", "Success"])
    client = FakeClient(_APINode("https://lxd:8443/1.0", session, project="default"))
    op_id = operation_id({"operation": "/1.0/operations/abc?project=default"})

    wait_operation(client, op_id, timeout_s=60, what="create c1")  # type: ignore[arg-type]

    urls = [url for url, _ in session.requests]
    assert urls == ["https://lxd:8443/1.0/operations/abc/wait"] * 2
    assert all(params["timeout"] >= 1 and params["project"] == "default" for _, params in session.requests)
