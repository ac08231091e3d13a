"""The provider's functions (Invoke) against the fake cluster: each finds what exists as its resource's
read shows it, whoever made it; what is not there fails with the function and the argument named; the
engine's Invoke RPC carries results and failures."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import InvokeRequest
from pulumi.runtime.proto import provider_pb2

from cluster.facts import OWNER_KEY
from lxd_provider.functions import FUNCTIONS
from lxd_provider.server import LxdProvider
from lxd_provider.service import ProviderService
from lxd_provider.values import plain_map
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import FakeConnection, engine_call, values

TOKEN = "lxd:index/{0}:{0}"


@pytest.fixture
def provider(fake: FakeLxd) -> LxdProvider:
    plugin = LxdProvider()
    plugin._connection = FakeConnection(fake)  # type: ignore[assignment]
    return plugin


def invoke(provider: LxdProvider, function: str, **args: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    response = engine_call(provider.invoke(InvokeRequest(TOKEN.format(function), values(**args))))
    results = plain_map(response.return_value) if response.return_value is not None else None
    return results, {f.property: f.reason for f in response.failures}


def test_get_instance_reads_any_instance_as_a_refresh_would(provider: LxdProvider, fake: FakeLxd) -> None:
    fake.add_instance("db-0", location="m2", config={OWNER_KEY: "other/stack", "limits.cpu": "2", "user.role": "db"})
    found, failures = invoke(provider, "getInstance", name="db-0")
    assert failures == {} and found is not None
    assert (found["location"], found["status"], found["running"], found["ipv4Address"]) == \
        ("m2", "Running", True, "10.9.0.100")
    # another stack's instance is found (a lookup owns nothing); its limits are config, as an import reads them
    assert found["config"] == {"limits.cpu": "2", "user.role": "db"}
    assert found["image"] == "f" * 64 and found["uuid"] == "uuid-db-0"


def test_functions_look_in_the_project_asked_for(provider: LxdProvider, fake: FakeLxd) -> None:
    fake.add_project("team-a")
    team = fake.in_project("team-a")
    team.add_instance("db-0", location="m3")
    team.profiles["small"] = {"name": "small", "description": "", "config": {}, "devices": {}}
    found, failures = invoke(provider, "getInstance", name="db-0", project="team-a")
    assert failures == {} and found is not None and (found["project"], found["location"]) == ("team-a", "m3")
    assert invoke(provider, "getProfile", name="small", project="team-a")[0] is not None
    assert list(invoke(provider, "getInstance", name="db-0")[1]) == ["name"]  # not in the default project


def test_get_profile_network_and_storage_pool_read_through_their_resources(provider: LxdProvider,
                                                                           fake: FakeLxd) -> None:
    fake.profiles["small"] = {"name": "small", "description": "one cpu", "config": {"limits.cpu": "1"},
                              "devices": {"root": {"type": "disk", "path": "/", "pool": "default"}}}
    fake.networks["lxdbr0"] = {"name": "lxdbr0", "type": "bridge", "description": "",
                               "config": {"ipv4.address": "10.5.0.1/24", "ipv6.address": "none"}}
    profile, _ = invoke(provider, "getProfile", name="small")
    assert profile == {"name": "small", "project": "default", "description": "one cpu",
                       "config": {"limits.cpu": "1"},
                       "devices": [{"name": "root", "type": "disk", "properties": {"path": "/", "pool": "default"}}]}
    network, _ = invoke(provider, "getNetwork", name="lxdbr0")
    assert network is not None and network["type"] == "bridge"
    assert (network["ipv4Address"], network["ipv6Address"]) == ("10.5.0.1/24", "")
    assert network["config"] == {"ipv4.address": "10.5.0.1/24", "ipv6.address": "none"}
    pool, _ = invoke(provider, "getStoragePool", name="default")
    assert pool == {"name": "default", "project": "default", "driver": "dir", "description": "", "config": {}}


def test_get_image_by_alias_or_fingerprint_and_narrowed_by_type(provider: LxdProvider, fake: FakeLxd) -> None:
    by_alias, _ = invoke(provider, "getImage", image="debian/stable")
    assert by_alias is not None and by_alias["fingerprint"] == "a" * 64
    assert (by_alias["aliases"], by_alias["type"], by_alias["architecture"]) == (["debian/stable"], "container",
                                                                                 "x86_64")
    by_fingerprint, _ = invoke(provider, "getImage", image="a" * 64)
    assert by_fingerprint is not None and by_fingerprint["aliases"] == ["debian/stable"]
    _, failures = invoke(provider, "getImage", image="debian/stable", type="virtual-machine")
    assert failures == {"type": "getImage: image 'debian/stable' is container, not virtual-machine. Fix: ask for "
                                "type 'container', or for another image"}


def test_get_project_and_get_info(provider: LxdProvider, fake: FakeLxd) -> None:
    project, _ = invoke(provider, "getProject", name="default")
    assert project is not None and project["config"]["features.images"] == "true"
    info, failures = invoke(provider, "getInfo")
    assert failures == {} and info is not None
    assert (info["serverName"], info["serverVersion"], info["apiExtensions"]) == ("m1", "5.0.2", ["projects"])
    assert info["clusterMembers"]["m2"] == {"url": "https://10.9.0.2:8443", "status": "Online"}
    assert sorted(info["clusterMembers"]) == ["m1", "m2", "m3"]
    assert info["instanceTypes"] == ["container", "virtual-machine"]


def test_get_info_of_a_single_server_has_no_members(provider: LxdProvider, fake: FakeLxd) -> None:
    fake.members.clear()
    info, _ = invoke(provider, "getInfo")
    assert info is not None and info["clusterMembers"] == {}


@pytest.mark.parametrize(("function", "args", "argument", "names"), [
    ("getInstance", {"name": "nope"}, "name", "there is no instance 'nope' in project default"),
    ("getImage", {"image": "debian/nope"}, "image", "there is no image 'debian/nope' in project default"),
    ("getImage", {"image": "b" * 64}, "image", f"there is no image '{'b' * 64}'"),
    ("getProfile", {"name": "nope"}, "name", "there is no profile 'nope'"),
    ("getNetwork", {"name": "nope"}, "name", "there is no network 'nope'"),
    ("getStoragePool", {"name": "nope"}, "name", "there is no storage pool 'nope'"),
    ("getProject", {"name": "nope"}, "name", "there is no project 'nope'"),
])
def test_what_is_not_there_names_the_function_and_the_argument(provider: LxdProvider, function: str,
                                                               args: dict[str, Any], argument: str,
                                                               names: str) -> None:
    found, failures = invoke(provider, function, **args)
    assert found is None and list(failures) == [argument]
    assert failures[argument].startswith(f"{function}: {names}") and "Fix: " in failures[argument]


def test_bad_arguments_are_named(provider: LxdProvider) -> None:
    assert invoke(provider, "getProfile")[1] == {"name": "name is required: Name of the profile."}
    assert list(invoke(provider, "getProfile", name="x", colour="red")[1]) == ["colour"]
    assert list(invoke(provider, "getProfile", name=3)[1]) == ["name"]
    assert invoke(provider, "getProfile", name="x", project="other")[1]["project"].startswith(
        "getProfile: project 'other': does not exist in the cluster")


def test_invoke_through_the_engine_rpc(provider: LxdProvider) -> None:
    service = ProviderService(provider)
    found = engine_call(service.Invoke(provider_pb2.InvokeRequest(
        tok=TOKEN.format("getProfile"), args=PropertyValue.marshal_map(values(name="default"))), None))
    assert not found.failures and PropertyValue.unmarshal_map(getattr(found, "return"))["name"] == \
        PropertyValue("default")
    missing = engine_call(service.Invoke(provider_pb2.InvokeRequest(
        tok=TOKEN.format("getProfile"), args=PropertyValue.marshal_map(values(name="nope"))), None))
    assert [f.property for f in missing.failures] == ["name"] and not getattr(missing, "return").fields


def test_every_function_is_in_the_schema_with_upstream_tokens() -> None:
    from lxd_provider.schema import schema

    functions = schema()["functions"]
    assert sorted(functions) == sorted(TOKEN.format(name) for name in (
        "getInstance", "getImage", "getProfile", "getNetwork", "getStoragePool", "getProject", "getInfo"))
    assert {f.token for f in FUNCTIONS} == set(functions)
