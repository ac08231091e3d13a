"""Fixtures for tests driven through the fake LXD: no real waiting, and a fake three-member cluster
with one image. Test modules and conftests import them by name (pytest finds imported fixtures)."""

from __future__ import annotations

import time

import pytest

from tests.support.fake_lxd import FakeLxd


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


@pytest.fixture
def fake() -> FakeLxd:
    cluster = FakeLxd.cluster()
    cluster.add_image("a" * 64, aliases=("debian/stable",))
    return cluster
