"""Fixtures of the provider's unit tests: no real waiting, a fake three-member cluster with an image, and
the context of an engine call bound to it."""

import pytest

from lxd_provider.base import Context
from tests.support.fake_fixtures import fake, no_waiting
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import context

__all__ = ["fake", "no_waiting"]


@pytest.fixture
def ctx(fake: FakeLxd) -> Context:
    return context(fake)
