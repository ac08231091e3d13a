"""Profile, Network, StoragePool, Volume, Project and NetworkAcl share one implementation; each is driven through its
whole life against the fake cluster: check, diff, create (incl. a lost answer), read (drift, import), update,
delete -- in the default project and in another one."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import OwnershipConflict, ProjectMissing, StepFailed
from lxd_provider.base import Context
from lxd_provider.named import NamedObject
from lxd_provider.network import Network
from lxd_provider.network_acl import NetworkAcl
from lxd_provider.profile import Profile
from lxd_provider.project import Project
from lxd_provider.storage_pool import StoragePool
from lxd_provider.volume import Volume
from tests.support.fake_lxd import FakeLxd

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
    (Project(), {"name": "team-a", "config": {"limits.instances": "5"}}, "team-a", "/projects/team-a",
     {"name": "team-b"}),
    (NetworkAcl(), {"name": "web", "ingress": [{"action": "allow", "protocol": "tcp", "destinationPort": "80"}]},
     "web", "/network-acls/web", {"name": "web2"}),
]
IDS = [case[0].what for case in CASES]


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
    assert {p for p, _ in Project().check(ctx, {"name": "a/b"})[1]} == {"name"}


def test_objects_of_another_project_are_made_read_and_deleted_there(ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("team-a")
    profile, volume = Profile(), Volume()
    profile_id, profile_state = profile.create(ctx, checked(profile, ctx, {"name": "web", "project": "team-a"}))
    volume_id, volume_state = volume.create(ctx, checked(volume, ctx, {"name": "data", "pool": "default",
                                                                        "project": "team-a"}))
    assert (profile_id, volume_id) == ("team-a/web", "team-a/default/data")
    team = fake.in_project("team-a")
    assert "web" in team.profiles and "web" not in fake.profiles and ("default", "data") in team.volumes
    found, _outputs, live = profile.read(ctx, "team-a/web", {}, {})  # an import by id
    assert found == "team-a/web" and live["project"] == "team-a"
    profile.delete(ctx, profile_id, profile_state)
    volume.delete(ctx, volume_id, volume_state)
    assert "web" not in team.profiles and not team.volumes


def test_a_project_without_its_own_profiles_uses_the_default_projects(ctx: Context, fake: FakeLxd) -> None:
    fake.add_project("shared", **{"features.profiles": "false"})
    profile = Profile()
    profile.create(ctx, checked(profile, ctx, {"name": "web", "project": "shared"}))
    assert "web" in fake.profiles  # where LXD keeps it too


def test_a_missing_project_is_named_at_create_and_is_gone_for_reads(ctx: Context) -> None:
    profile = Profile()
    _, failures = profile.check(ctx, {"name": "web", "project": "nowhere"})
    assert [prop for prop, _ in failures] == ["project"] and 'project "nowhere" does not exist' in failures[0][1]
    ctx.declared.add("project", "nowhere")  # a Project of the same program, checked first
    inputs = checked(profile, ctx, {"name": "web", "project": "nowhere"})  # preview: made first at `up`
    with pytest.raises(ProjectMissing) as raised:
        profile.create(ctx, inputs)
    assert "project 'nowhere': does not exist" in str(raised.value) and "lxd.Project" in str(raised.value)


def test_a_projects_features_lxd_set_are_no_drift_and_survive_an_update(ctx: Context, fake: FakeLxd) -> None:
    project = Project()
    inputs = checked(project, ctx, {"name": "team-a", "config": {"limits.instances": "5"}})
    project_id, state = project.create(ctx, inputs)
    assert fake.projects["team-a"]["config"]["features.profiles"] == "true"  # LXD's default
    _, outputs, live = project.read(ctx, project_id, state, inputs)
    assert live["config"] == {"limits.instances": "5"} and not project.diff(outputs, inputs).changes
    fake.projects["team-a"]["config"]["limits.instances"] = "9"  # changed by hand
    assert project.diff(project.read(ctx, project_id, state, inputs)[1], inputs).detailed.keys() == {"config"}
    project.update(ctx, project_id, outputs, {**inputs, "config": {"limits.instances": "6"}})
    assert fake.projects["team-a"]["config"]["limits.instances"] == "6"
    assert fake.projects["team-a"]["config"]["features.profiles"] == "true"


def test_an_update_keeps_what_lxd_filled_in_and_drops_what_was_undeclared(ctx: Context, fake: FakeLxd) -> None:
    network = Network()
    declared = checked(network, ctx, {"name": "lxdbr1", "config": {"ipv4.nat": "true", "ipv6.nat": "true"}})
    network_id, state = network.create(ctx, declared)
    fake.networks["lxdbr1"]["config"]["ipv4.address"] = "10.5.0.1/24"  # LXD's choice
    network.update(ctx, network_id, state, {**declared, "config": {"ipv4.nat": "false"}})
    assert fake.networks["lxdbr1"]["config"] == {"ipv4.address": "10.5.0.1/24", "ipv4.nat": "false"}


def test_a_project_that_still_holds_objects_is_not_deleted_and_says_what_to_do(ctx: Context, fake: FakeLxd) -> None:
    project = Project()
    project_id, state = project.create(ctx, checked(project, ctx, {"name": "team-a"}))
    Profile().create(ctx, checked(Profile(), ctx, {"name": "web", "project": "team-a"}))
    with pytest.raises(StepFailed) as raised:
        project.delete(ctx, project_id, state)
    assert "project team-a: still holds objects" in str(raised.value) and "lxc list --project team-a" in \
        str(raised.value)
