"""Entry point of the `pulumi-resource-lxd` plugin: `python -m lxd_provider <engine address>`.

Serves the provider over gRPC like the SDK's own server, with one difference: an error reaches the
user as one message (what, which object or setting, the fix), never as a Python traceback; an
unexpected error says so and leaves its traceback in .state/logs/plugins.log.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import grpc
import grpc.aio
from pulumi.provider.experimental import provider
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from cluster.errors import user_message
from lxd_provider.schema import VERSION
from lxd_provider.server import LxdProvider

RPCS = ("CheckConfig", "DiffConfig", "Configure", "Check", "Diff", "Create", "Read", "Update", "Delete", "GetSchema")


class QuietServicer(ProviderServicer):
    """The SDK's servicer, whose errors are turned into one clear message each."""

    async def DiffConfig(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802 - gRPC name
        """Ours: the SDK's passes `changes` (a bool) and the detailed kinds to the proto unconverted."""
        response = await self._provider.diff_config(provider.DiffRequest(
            request.urn, request.id, PropertyValue.unmarshal_map(request.olds),
            PropertyValue.unmarshal_map(request.news), list(request.ignoreChanges)))
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if response.changes else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=response.replaces, diffs=response.diffs, hasDetailedDiff=True,
            detailedDiff={key: provider_pb2.PropertyDiff(kind=provider_pb2.PropertyDiff.UPDATE, inputDiff=True)
                          for key in response.detailed_diff})


def _quiet(name: str) -> Any:
    inner = QuietServicer.__dict__.get(name) or getattr(ProviderServicer, name)

    async def call(self: ProviderServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await inner(self, request, context)
        except NotImplementedError:
            raise
        except Exception as wrapped:  # noqa: BLE001 - the SDK re-raised ours with its traceback appended
            original = wrapped.__context__ if wrapped.__context__ is not None else wrapped
            await context.abort(grpc.StatusCode.UNKNOWN, user_message(original))

    call.__name__ = name
    return call


for _rpc in RPCS:
    setattr(QuietServicer, _rpc, _quiet(_rpc))


async def serve(engine_address: str) -> None:
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = QuietServicer(sys.argv[1:], VERSION, LxdProvider(), engine_address=engine_address)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await server.wait_for_termination()


def main() -> None:
    engine = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(engine))


if __name__ == "__main__":
    main()
