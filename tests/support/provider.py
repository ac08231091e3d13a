"""What the provider's unit tests share: a context bound to a fake cluster, and a way to call the
provider the way the engine does (PropertyValues in, PropertyValues out)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pylxd

from cluster.connection import RECENT_READ_S, ClusterConnection, LxdEndpoint
from cluster.recent_reads import RecentReads
from lxd_provider.base import Context, Resource
from lxd_provider.values import marshal
from tests.support.fake_lxd import URL, FakeLxd

URN = "urn:pulumi:test::lxdha::lxd:index/instance:Instance::web"
OWNER = "lxdha/test"


class FakeConnection(ClusterConnection):
    """The provider's connection (one client per project, made once the project exists) to a fake cluster."""

    def __init__(self, fake: FakeLxd) -> None:
        super().__init__(LxdEndpoint(URL, "0" * 64, "", ""))
        self._fake = fake
        self.recent_reads = RecentReads(RECENT_READ_S)

    def _connect(self) -> pylxd.Client:
        return self._fake.client()

    def _new_client(self, project: str | None = None) -> pylxd.Client:
        return self._fake.client(project)

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


def checker(resource: Resource, **declared: Any) -> Callable[..., dict[str, Any]]:
    """`checked(ctx, **changes)`: the resource's checked inputs for `declared` with `changes`; the check must pass."""

    def checked(ctx: Context, **changes: Any) -> dict[str, Any]:
        inputs, failures = resource.check(ctx, {**declared, **changes})
        assert failures == []
        return inputs

    return checked
