"""Both plugin hosts on the SDK's public ground: the parts of the SDK they rely on are pinned here, so
an SDK upgrade that changes them fails a test instead of a `pulumi up`."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dill
import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.dynamic import dynamic as sdk_dynamic
from pulumi.provider.experimental import provider as sdk_provider
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from cluster.errors import ActionableError
from lxd_provider.server import LxdProvider
from lxd_provider.service import DIFF_KINDS, ProviderService
from plugin_host import dynamic
from tests.support.provider import engine_call

ROOT = Path(__file__).resolve().parents[2]
PRIVATE_SDK_NAME = re.compile(r"from pulumi[^ ]* import _|pulumi\.[a-z_.]*\._[a-z]")


class Aborted(Exception):
    pass


class Context:
    """The part of grpc.aio.ServicerContext the hosts use."""

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(f"{code.name}: {details}")


run = engine_call


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    return run(rpc.serialize_properties(values, {}))


@dataclass
class Counter(ResourceProvider):
    """A toy dynamic provider: plain data only, as ours are."""

    start: int = 1

    def check(self, olds: Any, news: Any) -> CheckResult:
        failures = [] if news.get("size", 0) >= 0 else [CheckFailure("size", "negative")]
        return CheckResult(dict(news), failures)

    def create(self, props: Any) -> CreateResult:
        if props.get("size") == 13:
            raise ActionableError("counter c", "13 is unlucky", "pick another size")
        return CreateResult("c-1", {"value": self.start + props["size"]})

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        return DiffResult(changes=olds.get("size") != news.get("size"), replaces=["size"])

    def read(self, id_: str, props: Any) -> ReadResult:
        return ReadResult(id_, {**props, "value": 99})

    def update(self, _id: str, olds: Any, news: Any) -> UpdateResult:
        return UpdateResult({"value": news["size"]})

    def delete(self, _id: str, props: Any) -> None:
        if props.get("value") == -1:
            {}["boom"]  # noqa: B018 - an unexpected failure


def serialized(provider: ResourceProvider) -> str:
    return sdk_dynamic.serialize_provider(provider)  # what pulumi.dynamic.Resource puts in __provider


def test_the_sdk_carries_a_dynamic_provider_as_we_decode_it() -> None:
    assert dynamic.PROVIDER_KEY == sdk_dynamic.PROVIDER_KEY
    text = serialized(Counter(start=5))
    assert dill.loads(base64.b64decode(text)) == Counter(start=5)
    assert dynamic.Providers().get(text) == Counter(start=5)


def test_the_dynamic_host_serves_check_create_diff_read_update_delete() -> None:
    service, context, key = dynamic.DynamicService(), Context(), serialized(Counter(start=5))
    news = {"size": 2, dynamic.PROVIDER_KEY: key}
    checked = run(service.Check(provider_pb2.CheckRequest(news=struct(news)), context))
    assert rpc.deserialize_properties(checked.inputs) == news and not checked.failures
    created = run(service.Create(provider_pb2.CreateRequest(properties=struct(news)), context))
    assert created.id == "c-1" and rpc.deserialize_properties(created.properties)["value"] == 7
    diff = run(service.Diff(provider_pb2.DiffRequest(olds=created.properties, news=struct({**news, "size": 3})),
                            context))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == ["size"]
    read = run(service.Read(provider_pb2.ReadRequest(id="c-1", properties=created.properties), context))
    assert rpc.deserialize_properties(read.properties) == {"value": 99, dynamic.PROVIDER_KEY: key}
    imported = run(service.Read(provider_pb2.ReadRequest(id="c-1", inputs=struct(news)), context))
    assert imported.id == "c-1"  # an import sends only the inputs
    updated = run(service.Update(provider_pb2.UpdateRequest(olds=created.properties, news=struct(
        {**news, "size": 4})), context))
    assert rpc.deserialize_properties(updated.properties)["value"] == 4
    run(service.Delete(provider_pb2.DeleteRequest(id="c-1", properties=created.properties), context))


def test_a_preview_with_an_unknown_provider_uses_the_old_one() -> None:
    service, key = dynamic.DynamicService(), serialized(Counter())
    olds, news = struct({"size": 1, dynamic.PROVIDER_KEY: key}), struct({"size": 2, dynamic.PROVIDER_KEY: rpc.UNKNOWN})
    diff = run(service.Diff(provider_pb2.DiffRequest(olds=olds, news=news), Context()))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME


def test_dynamic_failures_are_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    service, key = dynamic.DynamicService(), serialized(Counter())
    with pytest.raises(Aborted) as clear:
        run(service.Create(provider_pb2.CreateRequest(properties=struct({"size": 13, dynamic.PROVIDER_KEY: key})),
                           Context()))
    assert str(clear.value) == "UNKNOWN: counter c: 13 is unlucky. Fix: pick another size"
    with pytest.raises(Aborted) as unexpected:
        run(service.Delete(provider_pb2.DeleteRequest(properties=struct({"value": -1, dynamic.PROVIDER_KEY: key})),
                           Context()))
    assert str(unexpected.value).startswith("UNKNOWN: KeyError: 'boom'; details in ")
    assert "File " not in str(unexpected.value) and "Traceback" in Path(".state/logs/plugins.log").read_text()


def test_native_failures_are_one_message_and_diffs_convert() -> None:
    service = ProviderService(LxdProvider())
    urn, news = "urn:pulumi:t::p::lxd:index/instance:Instance::w", struct({"name": "web-0", "image": "debian/stable"})
    checked = run(service.Check(provider_pb2.CheckRequest(urn=urn, news=news), Context()))
    assert not checked.failures  # a preview's check leaves what needs the server to `up`
    with pytest.raises(Aborted) as aborted:
        run(service.Create(provider_pb2.CreateRequest(urn=urn, properties=checked.inputs), Context()))
    assert "lxd:remote: the provider is not configured" in str(aborted.value) and "File " not in str(aborted.value)
    changed = run(service.DiffConfig(provider_pb2.DiffRequest(olds=struct({"remote": "https://a:8443"}),
                                                              news=struct({"remote": "https://b:8443"})), Context()))
    assert changed.changes == provider_pb2.DiffResponse.DIFF_SOME and list(changed.diffs) == ["remote"]


def test_the_sdk_provider_interface_we_convert_to_is_unchanged() -> None:
    assert set(DIFF_KINDS) == set(sdk_provider.PropertyDiffKind)
    value = PropertyValue.unmarshal_map(PropertyValue.marshal_map({"a": PropertyValue("x")}))
    assert value == {"a": PropertyValue("x")}
    sdk_provider.CheckRequest("urn", {}, {}, b"")
    sdk_provider.DiffRequest("urn", "id", {}, {}, [])
    sdk_provider.CreateRequest("urn", {}, 60.0, False)
    sdk_provider.ReadRequest("urn", "id", {}, {})
    sdk_provider.UpdateRequest("urn", "id", {}, {}, timeout=60.0, ignore_changes=[], preview=False)
    sdk_provider.DeleteRequest("urn", "id", {}, timeout=60.0)
    sdk_provider.ConfigureRequest({}, {}, True, True)
    sdk_provider.GetSchemaRequest(0, None, None)
    sdk_provider.InvokeRequest("lxd:index/getInfo:getInfo", {})
    sdk_provider.InvokeResponse(return_value={}, failures=[sdk_provider.CheckFailure("name", "why")])
    for rpc_name in ("Check", "Diff", "Create", "Read", "Update", "Delete", "Configure", "CheckConfig", "DiffConfig",
                     "GetSchema", "GetPluginInfo", "Cancel", "Invoke"):
        assert hasattr(provider_pb2_grpc.ResourceProviderServicer, rpc_name), rpc_name


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a plugin started from a script or CI inherits it


@pytest.mark.parametrize("module", ["plugin_host.dynamic", "lxd_provider"])
def test_a_host_stops_on_sigint_even_when_started_with_sigint_ignored(module: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", module, "127.0.0.1:1"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_ignore_sigint)
    try:
        assert process.stdout is not None and process.stdout.readline().strip().isdigit()
        os.killpg(process.pid, signal.SIGINT)  # what the engine does when the update is over
        process.wait(timeout=4)  # the engine kills a plugin still running after 5 s
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0 and process.stdout.read() == ""


def test_no_code_of_ours_uses_a_private_sdk_name() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    offenders = [f"{path}:{number}" for path in tracked if (ROOT / path).is_file()
                 for number, line in enumerate((ROOT / path).read_text().splitlines(), 1)
                 if PRIVATE_SDK_NAME.search(line)]
    assert offenders == []


def test_an_rpc_neither_host_serves_answers_unimplemented_quietly() -> None:
    for service in (dynamic.DynamicService(), ProviderService(LxdProvider())):
        with pytest.raises(Aborted, match="UNIMPLEMENTED: Handshake is not implemented"):
            run(service.Handshake(provider_pb2.ProviderHandshakeRequest(), Context()))
