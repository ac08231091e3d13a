"""The host of this project's dynamic providers (`pulumi-resource-pulumi-python`, started by the engine
for every `pulumi.dynamic.Resource`): `python -m plugin_host.dynamic <engine address>`.

It speaks the SDK's dynamic-provider protocol — the provider object travels in each resource's
`__provider` property as base64 of `dill.dumps` (`pulumi.dynamic.dynamic.serialize_provider`) — and
differs from the SDK's host (`pulumi.dynamic.__main__`, which starts serving as it is imported) in
what it reports and how much it runs at once: a failure is one message, never a traceback, and up to
MAX_WORKERS operations run together instead of 4, so placements, bootstraps and playbooks of many
containers proceed side by side.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Callable
from typing import Any

import dill
import grpc.aio
from google.protobuf import empty_pb2
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.runtime import Settings, configure, rpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from plugin_host.grpc_server import QuietServicer, reported, serve

PROVIDER_KEY = "__provider"  # pulumi.dynamic.dynamic.PROVIDER_KEY
PLUGIN_VERSION = "0.1.0"
MAX_WORKERS = 16

Context = grpc.aio.ServicerContext


class Providers:
    """Each serialized provider decoded and configured once per process (the engine sends the same one
    with every resource of its kind)."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self._decoded: dict[str, ResourceProvider] = {}
        self._lock = threading.Lock()

    def get(self, serialized: str) -> ResourceProvider:
        with self._lock:
            provider = self._decoded.get(serialized)
            if provider is None:
                provider = dill.loads(base64.b64decode(serialized))
                provider.configure(ConfigureRequest(Config(raw_config=self.config, project_name=project())))
                self._decoded[serialized] = provider
            return provider

    def of(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> ResourceProvider:
        """The provider in `news`, or in `olds` while the new one is unknown (a preview of a changed program)."""
        serialized = news.get(PROVIDER_KEY)
        if (serialized is None or serialized == rpc.UNKNOWN or not isinstance(serialized, str)) and olds:
            serialized = olds.get(PROVIDER_KEY)
        return self.get(str(serialized))


def _properties(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    return rpc.deserialize_properties(struct, keep_unknowns) or {}


async def _struct(values: dict[str, Any]) -> Any:
    return await rpc.serialize_properties(values, {})


async def _in_thread(call: Callable[..., Any], *args: Any) -> Any:
    """Provider methods block (LXD, Ansible): each runs in a worker thread."""
    return await asyncio.to_thread(call, *args)


class DynamicService(QuietServicer):  # type: ignore[misc, valid-type]
    """The RPCs the engine sends the dynamic-provider plugin."""

    def __init__(self) -> None:
        self._providers = Providers()

    async def GetPluginInfo(self, request: Any, context: Context) -> plugin_pb2.PluginInfo:  # noqa: N802 - gRPC name
        return plugin_pb2.PluginInfo(version=PLUGIN_VERSION)

    async def Configure(self, request: Any, context: Context) -> provider_pb2.ConfigureResponse:  # noqa: N802
        # secrets are not accepted: the engine sends plain values and keeps secretness itself
        self._providers.config = {key: rpc.unwrap_rpc_secret(value)
                                  for key, value in _properties(request.args).items()}
        return provider_pb2.ConfigureResponse(acceptSecrets=False)

    @reported
    async def Check(self, request: Any, context: Context) -> provider_pb2.CheckResponse:  # noqa: N802
        olds, news = _properties(request.olds, True), _properties(request.news, True)
        provider = self._providers.of(news, olds)
        result = await _in_thread(provider.check, olds, news)
        inputs = {**(result.inputs or {}), PROVIDER_KEY: news[PROVIDER_KEY]}
        return provider_pb2.CheckResponse(
            inputs=await _struct(inputs),
            failures=[provider_pb2.CheckFailure(property=f.property, reason=f.reason) for f in result.failures or ()])

    @reported
    async def Diff(self, request: Any, context: Context) -> provider_pb2.DiffResponse:  # noqa: N802
        olds, news = _properties(request.olds, True), _properties(request.news, True)
        provider = self._providers.of(news, olds)
        result = await _in_thread(provider.diff, request.id, olds, news)
        changes = (provider_pb2.DiffResponse.DIFF_UNKNOWN if result.changes is None else
                   provider_pb2.DiffResponse.DIFF_SOME if result.changes else provider_pb2.DiffResponse.DIFF_NONE)
        return provider_pb2.DiffResponse(changes=changes, replaces=result.replaces or [],
                                         deleteBeforeReplace=bool(result.delete_before_replace))

    @reported
    async def Create(self, request: Any, context: Context) -> provider_pb2.CreateResponse:  # noqa: N802
        properties = _properties(request.properties)
        result = await _in_thread(self._providers.of(properties).create, properties)
        outputs = {**(result.outs or {}), PROVIDER_KEY: properties[PROVIDER_KEY]}
        return provider_pb2.CreateResponse(id=result.id, properties=await _struct(outputs))

    @reported
    async def Read(self, request: Any, context: Context) -> provider_pb2.ReadResponse:  # noqa: N802
        # a refresh sends the last outputs; an import (`get`) only the inputs
        properties = _properties(request.properties) or _properties(request.inputs)
        result = await _in_thread(self._providers.of(properties).read, request.id, properties)
        outputs = {**(result.outs or {}), PROVIDER_KEY: properties[PROVIDER_KEY]}
        response = provider_pb2.ReadResponse(id=result.id, properties=await _struct(outputs))
        if result.inputs is not None:  # the provider brings its inputs in line with what it read
            response.inputs.CopyFrom(await _struct({**result.inputs, PROVIDER_KEY: properties[PROVIDER_KEY]}))
        return response

    @reported
    async def Update(self, request: Any, context: Context) -> provider_pb2.UpdateResponse:  # noqa: N802
        olds, news = _properties(request.olds), _properties(request.news)
        result = await _in_thread(self._providers.of(news).update, request.id, olds, news)
        outputs = {**(result.outs or {}), PROVIDER_KEY: news[PROVIDER_KEY]}
        return provider_pb2.UpdateResponse(properties=await _struct(outputs))

    @reported
    async def Delete(self, request: Any, context: Context) -> empty_pb2.Empty:  # noqa: N802
        properties = _properties(request.properties)
        await _in_thread(self._providers.of(properties).delete, request.id, properties)
        return empty_pb2.Empty()

    async def Cancel(self, request: Any, context: Context) -> empty_pb2.Empty:  # noqa: N802
        return empty_pb2.Empty()


def project() -> str:
    return os.environ.get("PULUMI_PROJECT", "project")


def main() -> None:
    # the SDK's settings as its own host sets them (worker threads see them: contexts are copied)
    configure(Settings(project=project(), stack="stack", organization="organization"))
    serve(lambda server: provider_pb2_grpc.add_ResourceProviderServicer_to_server(DynamicService(), server),
          MAX_WORKERS)


if __name__ == "__main__":
    main()
