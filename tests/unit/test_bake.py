"""Baking against the fake cluster: once per plan, a builder that never outlives the bake, a new plan
re-bakes and re-points the alias while running containers stay as they are, unused images go."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cluster.facts import MANAGED_KEY
from provisioners import bake_provider
from provisioners.bake import BAKE_PROPERTY, bake, builder_name
from provisioners.bake_provider import BakeProvider
from provisioners.bootstrap_plan import Mirror, bake_plan, plan_hash
from tests.support.fake_lxd import FakeLxd

OWNER = "lxdha/test"
MIRROR = {"url": "http://10.91.0.30:9000/debian", "suite": "bookworm", "components": ["main"],
          "signing_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeLxd:
    cluster = FakeLxd.cluster()
    cluster.add_image("b" * 64, aliases=("debian/stable",))
    ran: list[list[str]] = []
    cluster.exec_handler = lambda _name, command: (ran.append(command), (0, "", ""))[1]
    cluster.ran = ran  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def client(_endpoint: Any) -> Iterator[Any]:
        yield cluster.client()

    monkeypatch.setattr(bake_provider, "shared_client", client)
    monkeypatch.setattr(BakeProvider, "endpoint", lambda self: None)
    return cluster


def props(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    steps = bake_plan("debian", Mirror.from_settings(MIRROR), packages)
    return {"source_alias": "debian/stable", "source_fingerprint": "b" * 64, "alias": "debian/stable-baked",
            "distro": "debian", "mirror": MIRROR, "packages": list(packages), "owner": OWNER,
            "plan_hash": plan_hash(steps)}


def test_a_plan_is_baked_once_and_its_builder_never_outlives_the_bake(fake: FakeLxd) -> None:
    steps = bake_plan("debian", Mirror.from_settings(MIRROR))
    first, baked = bake(fake.client(), "debian/stable", steps, "h1", OWNER, "test")
    assert baked and fake.images[first]["properties"][BAKE_PROPERTY] == "h1"
    assert fake.published_compression[first] == "none"  # every create on `dir` unpacks it: no gunzip each time
    assert builder_name("h1") not in fake.instances
    assert len(fake.ran) == len(steps)
    again, baked_again = bake(fake.client(), "debian/stable", steps, "h1", OWNER, "test")
    assert (again, baked_again) == (first, False) and len(fake.ran) == len(steps)


def test_a_bake_cut_short_starts_over_and_a_lost_publish_is_found(fake: FakeLxd) -> None:
    fake.add_instance(builder_name("h2"), "m1", status="Running", config={MANAGED_KEY: "true"})
    fake.fail("POST", r"/images", kind="lost")
    fingerprint, _ = bake(fake.client(), "debian/stable", bake_plan("debian", Mirror.from_settings(MIRROR)), "h2",
                          OWNER, "test")
    assert [f for f, i in fake.images.items() if (i.get("properties") or {}).get(BAKE_PROPERTY) == "h2"] == \
        [fingerprint]
    assert builder_name("h2") not in fake.instances


def test_a_new_plan_rebakes_repoints_and_leaves_running_containers_alone(fake: FakeLxd) -> None:
    provider = BakeProvider()
    created = provider.create(props())
    first = created.outs["fingerprint"]
    assert fake.aliases["debian/stable-baked"]["target"] == first
    container = fake.add_instance("app-0", "m2", config={"volatile.base_image": first})
    same = provider.diff("id", created.outs, props())
    assert not same.changes
    changed = props(("keepalived",))
    assert provider.diff("id", created.outs, changed).changes
    updated = provider.update("id", created.outs, changed)
    second = updated.outs["fingerprint"]
    assert second != first and fake.aliases["debian/stable-baked"]["target"] == second
    assert fake.instances["app-0"] is container and container["status"] == "Running"
    assert first in fake.images, "an image a container was made from stays while that container exists"
    del fake.instances["app-0"]
    provider.delete("id", updated.outs)
    assert "debian/stable-baked" not in fake.aliases
    assert first not in fake.images and second not in fake.images, "images nothing uses are removed"
