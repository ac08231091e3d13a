"""What the provider's unit tests share: a context bound to a fake cluster, and a way to call the
provider the way the engine does (PropertyValues in, PropertyValues out)."""

from __future__ import annotations

import asyncio
from typing import Any

import pylxd

from cluster.connection import RECENT_READ_S
from cluster.recent_reads import RecentReads
from lxd_provider.base import Context
from lxd_provider.values import marshal
from tests.support.fake_lxd import FakeLxd

URN = "urn:pulumi:test::lxdha::lxd:index/instance:Instance::web"
OWNER = "lxdha/test"


class FakeConnection:
    def __init__(self, fake: FakeLxd) -> None:
        self._client = fake.client()
        self.recent_reads = RecentReads(RECENT_READ_S)

    def client(self) -> pylxd.Client:
        return self._client

    def close(self) -> None:
        return None


def context(fake: FakeLxd, urn: str = URN) -> Context:
    return Context(FakeConnection(fake), urn)  # type: ignore[arg-type]


def engine_call(coroutine: Any) -> Any:
    """Runs one engine call on a loop of its own: asyncio.run would leave the thread without a current
    loop, which later tests that build Pulumi outputs (set_mocks) rely on."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def values(**kwargs: Any) -> dict[str, Any]:
    return marshal(kwargs)
