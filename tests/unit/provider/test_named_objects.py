"""Profile, Network, StoragePool and Volume share one implementation; each is driven through its whole
life against the fake cluster: check, diff, create (incl. a lost answer), read (drift, import), update,
delete."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import OwnershipConflict
from lxd_provider.base import Context
from lxd_provider.named import NamedObject
from lxd_provider.network import Network
from lxd_provider.profile import Profile
from lxd_provider.storage_pool import StoragePool
from lxd_provider.volume import Volume
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import context

CASES: list[tuple[NamedObject, dict[str, Any], str, str, dict[str, Any]]] = [
    # resource, declaration, its id, API path, a change that replaces it
    (Profile(), {"name": "web", "config": {"limits.cpu": "1"},
                 "devices": [{"name": "eth0", "type": "nic", "properties": {"nictype": "bridged", "parent": "br0"}}]},
     "web", "/profiles/web", {"name": "web2"}),
    (Network(), {"name": "lxdbr1", "config": {"ipv4.address": "10.5.0.1/24"}}, "lxdbr1", "/networks/lxdbr1",
     {"type": "macvlan"}),
    (StoragePool(), {"name": "fast", "driver": "dir", "config": {"source": "/srv/fast"}}, "fast",
     "/storage-pools/fast", {"driver": "btrfs"}),
    (Volume(), {"name": "data", "pool": "default", "config": {"size": "1GiB"}, "target": "m2"}, "default/data",
     "/storage-pools/default/volumes/custom/data", {"pool": "fast"}),
]
IDS = [case[0].what for case in CASES]


@pytest.fixture
def ctx(fake: FakeLxd) -> Context:
    return context(fake)


def checked(resource: NamedObject, ctx: Context, declaration: dict[str, Any]) -> dict[str, Any]:
    inputs, failures = resource.check(ctx, declaration)
    assert failures == []
    return inputs


@pytest.mark.parametrize(("resource", "declaration", "resource_id", "path", "replacing"), CASES, ids=IDS)
def test_whole_life(resource: NamedObject, declaration: dict[str, Any], resource_id: str, path: str,
                    replacing: dict[str, Any], ctx: Context, fake: FakeLxd) -> None:
    inputs = checked(resource, ctx, declaration)
    fake.fail("POST", path.rsplit("/", 1)[0], kind="lost")
    created_id, state = resource.create(ctx, inputs)
    assert created_id == resource_id
    # the lost answer was adopted, not re-posted (clustered networks/pools also post once per member first)
    assert fake.count("POST", path.rsplit("/", 1)[0] + ("" if resource.pending_on_members else r"(\?target)?")) == 1

    found, outputs, live = resource.read(ctx, created_id, state, inputs)
    assert found == resource_id and not resource.diff(outputs, inputs).changes

    changed = {**inputs, "description": "changed"}
    assert resource.diff(outputs, changed).detailed.keys() == {"description"}
    assert not resource.diff(outputs, changed).replaces
    assert resource.diff(outputs, {**inputs, **replacing}).replaces == list(replacing)
    resource.update(ctx, created_id, outputs, changed)
    assert resource.read(ctx, created_id, state, changed)[2]["description"] == "changed"

    resource.delete(ctx, created_id, state)
    resource.delete(ctx, created_id, state)  # already gone: fine
    assert resource.read(ctx, created_id, state, inputs)[0] is None


@pytest.mark.parametrize(("resource", "declaration", "resource_id", "path", "replacing"), CASES, ids=IDS)
def test_an_existing_different_object_is_refused_and_can_be_imported(
        resource: NamedObject, declaration: dict[str, Any], resource_id: str, path: str,
        replacing: dict[str, Any], ctx: Context) -> None:
    inputs = checked(resource, ctx, declaration)
    resource.create(ctx, {**inputs, "description": "made by hand"})
    with pytest.raises(OwnershipConflict, match="pulumi import"):
        resource.create(ctx, inputs)
    found, _outputs, live = resource.read(ctx, resource_id, {}, {})
    assert found == resource_id and live["description"] == "made by hand"


def test_keys_lxd_fills_in_are_not_drift(ctx: Context, fake: FakeLxd) -> None:
    network = Network()
    inputs = checked(network, ctx, {"name": "lxdbr1", "config": {"ipv4.nat": "true"}})
    network_id, state = network.create(ctx, inputs)
    fake.networks["lxdbr1"]["config"].update({"ipv4.address": "10.5.0.1/24", "ipv6.address": "none"})
    _, outputs, _ = network.read(ctx, network_id, state, inputs)
    assert not network.diff(outputs, inputs).changes
    fake.networks["lxdbr1"]["config"]["ipv4.nat"] = "false"
    _, outputs, _ = network.read(ctx, network_id, state, inputs)
    assert network.diff(outputs, inputs).detailed.keys() == {"config"}


def test_names_and_enums_are_checked(ctx: Context) -> None:
    assert {p for p, _ in Network().check(ctx, {"name": "a-network-name-too-long"})[1]} == {"name"}
    assert {p for p, _ in StoragePool().check(ctx, {"name": "p", "driver": "floppy"})[1]} == {"driver"}
    assert {p for p, _ in Volume().check(ctx, {"name": "v", "pool": "p", "contentType": "tape"})[1]} == \
        {"contentType"}
    assert {p for p, _ in Profile().check(ctx, {"name": "x", "project": "other"})[1]} == {"project"}
