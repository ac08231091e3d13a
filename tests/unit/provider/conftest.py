"""Fixtures of the provider's unit tests: no real waiting, and a fake three-member cluster with an image."""

from tests.support.fake_fixtures import fake, no_waiting

__all__ = ["fake", "no_waiting"]
