"""The engine's gRPC calls, turned into the SDK's public provider requests for `LxdProvider` and its
answers back into protobuf. Failures go through `plugin_host.grpc_server.reported`: one message each.

The SDK's own servicer (`pulumi.provider.experimental.server`) does the same conversion, but appends a
Python traceback to every error and passes DiffConfig's `changes` to the proto unconverted; it has no
hook for either, so the conversion is ours (tests/unit/test_plugin_hosts.py pins the SDK parts it uses).
"""

from __future__ import annotations

from typing import Any

import grpc.aio
from google.protobuf import empty_pb2
from pulumi.provider.experimental import provider
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import plugin_pb2, provider_pb2

from lxd_provider.schema import VERSION
from lxd_provider.server import LxdProvider
from plugin_host.grpc_server import QuietServicer, reported

DIFF_KINDS = {
    provider.PropertyDiffKind.ADD: provider_pb2.PropertyDiff.ADD,
    provider.PropertyDiffKind.ADD_REPLACE: provider_pb2.PropertyDiff.ADD_REPLACE,
    provider.PropertyDiffKind.DELETE: provider_pb2.PropertyDiff.DELETE,
    provider.PropertyDiffKind.DELETE_REPLACE: provider_pb2.PropertyDiff.DELETE_REPLACE,
    provider.PropertyDiffKind.UPDATE: provider_pb2.PropertyDiff.UPDATE,
    provider.PropertyDiffKind.UPDATE_REPLACE: provider_pb2.PropertyDiff.UPDATE_REPLACE,
}

Context = grpc.aio.ServicerContext


def _unmarshal(struct: Any) -> dict[str, PropertyValue]:
    return PropertyValue.unmarshal_map(struct)


def _check_response(response: provider.CheckResponse) -> provider_pb2.CheckResponse:
    return provider_pb2.CheckResponse(
        inputs=PropertyValue.marshal_map(response.inputs) if response.inputs is not None else None,
        failures=[provider_pb2.CheckFailure(property=f.property, reason=f.reason) for f in response.failures or ()])


def _diff_response(response: provider.DiffResponse) -> provider_pb2.DiffResponse:
    changes = (provider_pb2.DiffResponse.DIFF_UNKNOWN if response.changes is None else
               provider_pb2.DiffResponse.DIFF_SOME if response.changes else provider_pb2.DiffResponse.DIFF_NONE)
    return provider_pb2.DiffResponse(
        replaces=response.replaces, stables=response.stables, deleteBeforeReplace=response.delete_before_replace,
        changes=changes, diffs=response.diffs, hasDetailedDiff=True,
        detailedDiff={key: provider_pb2.PropertyDiff(kind=DIFF_KINDS[diff.kind], inputDiff=diff.input_diff)
                      for key, diff in response.detailed_diff.items()})


def _diff_request(request: provider_pb2.DiffRequest) -> provider.DiffRequest:
    return provider.DiffRequest(request.urn, request.id, _unmarshal(request.olds), _unmarshal(request.news),
                                list(request.ignoreChanges))


def _check_request(request: provider_pb2.CheckRequest) -> provider.CheckRequest:
    return provider.CheckRequest(request.urn, _unmarshal(request.olds), _unmarshal(request.news), request.randomSeed)


class ProviderService(QuietServicer):  # type: ignore[misc, valid-type]
    """The RPCs the engine sends a resource provider, served by `LxdProvider`."""

    def __init__(self, lxd: LxdProvider) -> None:
        self._lxd = lxd

    async def GetPluginInfo(self, request: Any, context: Context) -> plugin_pb2.PluginInfo:  # noqa: N802 - gRPC name
        return plugin_pb2.PluginInfo(version=VERSION)

    @reported
    async def GetSchema(self, request: Any, context: Context) -> provider_pb2.GetSchemaResponse:  # noqa: N802
        response = await self._lxd.get_schema(provider.GetSchemaRequest(request.version, None, None))
        return provider_pb2.GetSchemaResponse(schema=response.schema or "")

    @reported
    async def CheckConfig(self, request: Any, context: Context) -> provider_pb2.CheckResponse:  # noqa: N802
        return _check_response(await self._lxd.check_config(_check_request(request)))

    @reported
    async def DiffConfig(self, request: Any, context: Context) -> provider_pb2.DiffResponse:  # noqa: N802
        return _diff_response(await self._lxd.diff_config(_diff_request(request)))

    @reported
    async def Configure(self, request: Any, context: Context) -> provider_pb2.ConfigureResponse:  # noqa: N802
        response = await self._lxd.configure(provider.ConfigureRequest(
            dict(request.variables), _unmarshal(request.args), request.acceptSecrets, request.acceptResources))
        return provider_pb2.ConfigureResponse(
            acceptSecrets=response.accept_secrets, acceptResources=response.accept_resources,
            acceptOutputs=response.accept_outputs, supportsPreview=response.supports_preview)

    @reported
    async def Invoke(self, request: Any, context: Context) -> provider_pb2.InvokeResponse:  # noqa: N802
        response = await self._lxd.invoke(provider.InvokeRequest(request.tok, _unmarshal(request.args)))
        # `return` is a Python keyword: the field is passed by name through a dict
        fields: dict[str, Any] = {"failures": [provider_pb2.CheckFailure(property=f.property, reason=f.reason)
                                               for f in response.failures]}
        if response.return_value is not None:
            fields["return"] = PropertyValue.marshal_map(response.return_value)
        return provider_pb2.InvokeResponse(**fields)

    @reported
    async def Check(self, request: Any, context: Context) -> provider_pb2.CheckResponse:  # noqa: N802
        return _check_response(await self._lxd.check(_check_request(request)))

    @reported
    async def Diff(self, request: Any, context: Context) -> provider_pb2.DiffResponse:  # noqa: N802
        return _diff_response(await self._lxd.diff(_diff_request(request)))

    @reported
    async def Create(self, request: Any, context: Context) -> provider_pb2.CreateResponse:  # noqa: N802
        response = await self._lxd.create(provider.CreateRequest(
            request.urn, _unmarshal(request.properties), request.timeout, request.preview))
        return provider_pb2.CreateResponse(id=response.resource_id,
                                           properties=PropertyValue.marshal_map(response.properties))

    @reported
    async def Read(self, request: Any, context: Context) -> provider_pb2.ReadResponse:  # noqa: N802
        response = await self._lxd.read(provider.ReadRequest(
            request.urn, request.id, _unmarshal(request.properties), _unmarshal(request.inputs)))
        return provider_pb2.ReadResponse(id=response.resource_id,
                                         properties=PropertyValue.marshal_map(response.properties),
                                         inputs=PropertyValue.marshal_map(response.inputs))

    @reported
    async def Update(self, request: Any, context: Context) -> provider_pb2.UpdateResponse:  # noqa: N802
        response = await self._lxd.update(provider.UpdateRequest(
            request.urn, request.id, _unmarshal(request.olds), _unmarshal(request.news), timeout=request.timeout,
            ignore_changes=list(request.ignoreChanges), preview=request.preview))
        return provider_pb2.UpdateResponse(properties=PropertyValue.marshal_map(response.properties))

    @reported
    async def Delete(self, request: Any, context: Context) -> empty_pb2.Empty:  # noqa: N802
        await self._lxd.delete(provider.DeleteRequest(
            request.urn, request.id, _unmarshal(request.properties), timeout=request.timeout))
        return empty_pb2.Empty()

    async def Cancel(self, request: Any, context: Context) -> empty_pb2.Empty:  # noqa: N802
        return empty_pb2.Empty()
