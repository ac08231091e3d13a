"""CachedImage: copy from a remote, aliases in place, ownership, drift, replacement without losing the
alias, delete -- against the fake cluster (the remote image check is stubbed: no network in unit tests)."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import OwnershipConflict
from cluster.images import alias_description
from lxd_provider import cached_image
from lxd_provider.base import Context
from lxd_provider.cached_image import CachedImage
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import OWNER

IMAGE = CachedImage()
OLD, NEW = "1" * 64, "2" * 64


@pytest.fixture(autouse=True)
def remote_has_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached_image, "remote_image_problem", lambda _source: None)


@pytest.fixture
def fake() -> FakeLxd:
    cluster = FakeLxd.cluster()
    cluster.remote_images.update({"alpine/3.22": OLD, "alpine/3.23": NEW})
    return cluster


def checked(ctx: Context, **news: Any) -> dict[str, Any]:
    inputs, failures = IMAGE.check(ctx, {"sourceRemote": "https://images.example", "sourceImage": "alpine/3.22",
                                         "aliases": ["alpine/stable"], **news})
    assert failures == []
    return inputs


def test_check_names_bad_properties_and_foreign_aliases(ctx: Context, fake: FakeLxd) -> None:
    _, failures = IMAGE.check(ctx, {"sourceRemote": "http://x", "sourceImage": "a", "sourceProtocol": "ftp",
                                    "copyAliases": True})
    assert {p for p, _ in failures} == {"sourceRemote", "sourceProtocol", "copyAliases"}
    fake.add_image("9" * 64)
    fake.aliases["alpine/stable"] = {"name": "alpine/stable", "target": "9" * 64,
                                     "description": alias_description("lxdha/prod")}
    _, failures = IMAGE.check(ctx, {"sourceRemote": "https://images.example", "sourceImage": "alpine/3.22",
                                    "aliases": ["alpine/stable"]})
    assert failures and failures[0][0] == "aliases" and "stack lxdha/prod" in failures[0][1]


def test_source_changes_replace_and_aliases_update(ctx: Context) -> None:
    olds = checked(ctx)
    assert IMAGE.diff(olds, checked(ctx, sourceImage="alpine/3.23")).replaces == ["sourceImage"]
    alias_change = IMAGE.diff(olds, checked(ctx, aliases=["alpine/stable", "alpine/current"]))
    assert alias_change.changes and not alias_change.replaces
    assert not IMAGE.diff(olds, checked(ctx, aliases=["alpine/stable", "alpine/stable"])).changes


def test_create_copies_and_points_the_alias_even_when_the_answer_was_lost(ctx: Context, fake: FakeLxd) -> None:
    fake.fail("POST", r"/images", kind="lost")
    resource_id, outputs = IMAGE.create(ctx, checked(ctx))
    assert resource_id == OLD and outputs["fingerprint"] == OLD and list(fake.images) == [OLD]
    assert fake.aliases["alpine/stable"]["target"] == OLD
    assert fake.aliases["alpine/stable"]["description"].startswith(f"lxdha-owner={OWNER} ")


def test_replacement_moves_the_alias_and_the_old_image_goes_without_taking_it(ctx: Context, fake: FakeLxd) -> None:
    old_id, old_state = IMAGE.create(ctx, checked(ctx))
    new_id, _ = IMAGE.create(ctx, checked(ctx, sourceImage="alpine/3.23"))  # create before delete
    assert fake.aliases["alpine/stable"]["target"] == NEW
    IMAGE.delete(ctx, old_id, old_state)
    assert fake.aliases["alpine/stable"]["target"] == NEW and list(fake.images) == [NEW]


def test_replacement_by_the_same_image_keeps_the_alias(ctx: Context, fake: FakeLxd) -> None:
    old_id, old_state = IMAGE.create(ctx, checked(ctx))
    IMAGE.create(ctx, checked(ctx, sourceRemote="https://mirror.example"))  # same image, other server
    IMAGE.delete(ctx, old_id, old_state)
    assert fake.aliases["alpine/stable"]["target"] == OLD and OLD in fake.images


def test_read_reports_a_repointed_alias_and_a_deleted_image(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx)
    resource_id, state = IMAGE.create(ctx, inputs)
    fake.add_image(NEW)
    fake.aliases["alpine/stable"]["target"] = NEW  # someone re-pointed it
    found, outputs, live = IMAGE.read(ctx, resource_id, state, inputs)
    assert found == OLD and live["aliases"] == []
    assert IMAGE.diff(outputs, inputs).detailed.keys() == {"aliases"}
    IMAGE.update(ctx, resource_id, outputs, inputs)
    assert fake.aliases["alpine/stable"]["target"] == OLD
    del fake.images[OLD]
    assert IMAGE.read(ctx, resource_id, state, inputs)[0] is None


def test_import_by_fingerprint(ctx: Context, fake: FakeLxd) -> None:
    fake.add_image(OLD, aliases=("handmade",))
    found, outputs, live = IMAGE.read(ctx, OLD, {}, {})
    assert found == OLD and live["aliases"] == ["handmade"] and outputs["architecture"] == "x86_64"


def test_update_adds_and_drops_only_its_own_aliases(ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(ctx, aliases=["a", "b"])
    resource_id, state = IMAGE.create(ctx, inputs)
    IMAGE.update(ctx, resource_id, state, {**inputs, "aliases": ["b", "c"]})
    assert sorted(fake.aliases) == ["b", "c"]
    fake.aliases["c"]["description"] = alias_description("lxdha/prod")
    with pytest.raises(OwnershipConflict):
        IMAGE.update(ctx, resource_id, state, {**inputs, "aliases": ["c"]})
