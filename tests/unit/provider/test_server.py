"""The plugin as the engine sees it: PropertyValues in and out, secrets kept secret, preview without
touching the cluster, connection settings from Configure, one-line errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    ReadRequest,
)
from pulumi.runtime import rpc

from cluster.errors import OwnershipConflict, user_message
from lxd_provider.server import LxdProvider
from tests.support.certs import self_signed_client_cert
from tests.support.fake_lxd import FakeLxd
from tests.support.provider import FakeConnection, engine_call, values

URN = "urn:pulumi:test::lxdha::lxd:index/instance:Instance::web"
DECLARED = {"name": "web-0", "image": "debian/stable", "target": "m2"}


@pytest.fixture
def provider(fake: FakeLxd) -> LxdProvider:
    plugin = LxdProvider()
    plugin._connection = FakeConnection(fake)  # type: ignore[assignment]
    return plugin


run = engine_call


def test_check_create_read_diff_delete_through_the_engine_interface(provider: LxdProvider, fake: FakeLxd) -> None:
    checked = run(provider.check(CheckRequest(URN, {}, values(**DECLARED), b"")))
    assert checked.failures is None and checked.inputs["running"] == PropertyValue(True)
    created = run(provider.create(CreateRequest(URN, checked.inputs, 60, preview=False)))
    assert created.resource_id == "web-0" and created.properties["location"] == PropertyValue("m2")
    read = run(provider.read(ReadRequest(URN, "web-0", created.properties, checked.inputs)))
    assert read.resource_id == "web-0"
    same = run(provider.diff(DiffRequest(URN, "web-0", read.properties, checked.inputs, [])))
    assert same.changes is False
    new_image = {**checked.inputs, "image": PropertyValue("debian/next")}
    replace = run(provider.diff(DiffRequest(URN, "web-0", read.properties, new_image, [])))
    assert replace.replaces == ["image"] and replace.delete_before_replace  # same name: the old one goes first
    ignored = run(provider.diff(DiffRequest(URN, "web-0", read.properties, new_image, ["image"])))
    assert ignored.changes is False
    run(provider.delete(DeleteRequest(URN, "web-0", created.properties, 60)))
    assert "web-0" not in fake.instances
    gone = run(provider.read(ReadRequest(URN, "web-0", created.properties, checked.inputs)))
    assert gone.resource_id is None


def test_preview_never_touches_the_cluster(provider: LxdProvider, fake: FakeLxd) -> None:
    checked = run(provider.check(CheckRequest(URN, {}, values(**DECLARED), b"")))
    before = len(fake.calls)
    previewed = run(provider.create(CreateRequest(URN, checked.inputs, 60, preview=True)))
    assert len(fake.calls) == before and previewed.properties["ipv4Address"].value == rpc.UNKNOWN


def test_check_failures_name_the_property(provider: LxdProvider) -> None:
    checked = run(provider.check(CheckRequest(URN, {}, values(name="Bad_Name", image="x"), b"")))
    assert [f.property for f in checked.failures] == ["name"]


def test_check_of_a_change_sees_the_old_inputs(provider: LxdProvider) -> None:
    declared = values(**DECLARED, allowRestart=False)
    created = run(provider.create(CreateRequest(URN, run(provider.check(CheckRequest(URN, {}, declared, b""))).inputs,
                                                60, preview=False)))
    assert created.resource_id == "web-0"
    moving = run(provider.check(CheckRequest(URN, declared, values(**{**DECLARED, "target": "m3"},
                                                                   allowRestart=False), b"")))
    assert [f.property for f in moving.failures] == ["target"] and "allowRestart is false" in moving.failures[0].reason


def test_configure_reads_the_connection_every_run_and_check_config_names_the_key(tmp_path: Path) -> None:
    cert, key = self_signed_client_cert("x")
    (tmp_path / "client.key").write_text(key)
    plugin = LxdProvider(base_dir=tmp_path)
    settings = {"remote": "https://10.91.0.10:8443", "serverFingerprint": "ab" * 32, "clientCert": cert,
                "clientKeyFile": "client.key"}
    run(plugin.configure(ConfigureRequest({f"lxd:{k}": v for k, v in settings.items()}, {}, True, True)))
    assert plugin._connection is not None and plugin._connection.endpoint.client_key_pem == key
    assert key not in repr(plugin._connection.endpoint)
    bad = run(plugin.check_config(CheckRequest("urn", {}, values(**{**settings, "serverFingerprint": "nope"}), b"")))
    assert [f.property for f in bad.failures] == ["serverFingerprint"]
    changed = run(plugin.diff_config(DiffRequest("urn", "", values(**settings),
                                                 values(**{**settings, "serverFingerprint": "cd" * 32}), [])))
    assert changed.changes and not changed.replaces


def test_errors_reach_the_user_as_one_message_without_a_traceback(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clear = OwnershipConflict("instance web-0", "already exists, managed by stack lxdha/prod", "rename it")
    assert user_message(clear) == "instance web-0: already exists, managed by stack lxdha/prod. Fix: rename it"
    try:
        {}["boom"]
    except KeyError as error:
        unexpected = user_message(error)
    assert unexpected.startswith("KeyError: 'boom'") and "Traceback" not in unexpected
    # the log is named absolutely, in the directory the engine started the plugin in: the user's project
    assert unexpected.endswith(f"details in {tmp_path / '.state/logs/plugins.log'}")
    assert "Traceback" in Path(".state/logs/plugins.log").read_text()


def test_objects_of_a_project_that_is_gone_are_gone_and_deleting_them_succeeds(provider: LxdProvider) -> None:
    refused = run(provider.check(CheckRequest(URN, {}, values(**DECLARED, project="gone"), b"")))
    assert [f.property for f in refused.failures or []] == ["project"]  # neither in the cluster nor declared
    project_urn = "urn:pulumi:test::lxdha::lxd:index/project:Project::gone"
    assert run(provider.check(CheckRequest(project_urn, {}, values(name="gone"), b""))).failures is None
    checked = run(provider.check(CheckRequest(URN, {}, values(**DECLARED, project="gone"), b"")))
    assert checked.failures is None  # the program declares it: made first at `up`
    read = run(provider.read(ReadRequest(URN, "gone/web-0", checked.inputs, checked.inputs)))
    assert read.resource_id is None
    run(provider.delete(DeleteRequest(URN, "gone/web-0", checked.inputs, 60)))
