"""What both of this project's plugins (the native LXD provider and the dynamic-provider host) do the
same way: serve the engine's gRPC calls on a loopback port printed on stdout, run up to `max_workers`
blocking cluster calls at once, stop cleanly on the engine's SIGINT/SIGTERM, and report a failure as
one message (what, which object or setting, the fix), never as a Python traceback.

Built on the generated stubs (`pulumi.runtime.proto`) rather than the SDK's own servers: those append
a traceback to every error and fix their thread pools, and offer no hook to change either.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import grpc.aio
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from cluster import logs
from cluster.errors import user_message

# The engine sends whole resource states (an instance's config, a baked image's plan) in one message;
# gRPC's default limit of 4 MiB is too small for a large stack, so accept what the SDK's plugins accept.
MAX_MESSAGE_BYTES = 400 * 1024 * 1024
SERVER_OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
STOP_GRACE_S = 1.0

Rpc = TypeVar("Rpc", bound=Callable[..., Awaitable[Any]])


def reported(rpc: Rpc) -> Rpc:
    """An RPC method whose failure reaches the user as one message (`cluster.errors.user_message`)."""

    @functools.wraps(rpc)
    async def call(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await rpc(self, request, context)
        except Exception as error:  # noqa: BLE001 - every failure becomes one message; its traceback is logged
            await context.abort(grpc.StatusCode.UNKNOWN, user_message(error))

    return call  # type: ignore[return-value]


async def not_implemented(context: grpc.aio.ServicerContext, what: str) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{what} is not implemented by this provider")


def _unimplemented(name: str) -> Callable[..., Awaitable[None]]:
    async def rpc(self: Any, request: Any, context: grpc.aio.ServicerContext) -> None:
        await not_implemented(context, name)

    rpc.__name__ = name
    return rpc


# Every RPC of the resource-provider service answers UNIMPLEMENTED quietly unless a servicer defines it: the
# engine probes some (Handshake, GetMapping) and falls back; the generated stubs would raise and gRPC would log
# a traceback for each.
QuietServicer = type("QuietServicer", (provider_pb2_grpc.ResourceProviderServicer,), {
    method.name: _unimplemented(method.name)
    for method in provider_pb2.DESCRIPTOR.services_by_name["ResourceProvider"].methods})


async def _serve(register: Callable[[grpc.aio.Server], None], max_workers: int) -> None:
    loop = asyncio.get_running_loop()
    # every blocking call runs in a worker thread (asyncio.to_thread); the default pool has cpus + 4 workers,
    # too few when the engine sends many creates that each wait minutes for a start or a playbook
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max_workers))
    server = grpc.aio.server(options=SERVER_OPTIONS)
    register(server)
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # the engine ends a plugin with SIGINT and kills it 5 s later; a handler also replaces an inherited
        # SIG_IGN (a plugin started from a script, CI or nohup). In place before the port is announced:
        # the engine may stop the plugin as soon as it has read it.
        loop.add_signal_handler(signum, stopping.set)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    terminated = asyncio.ensure_future(server.wait_for_termination())
    await asyncio.wait([terminated, asyncio.ensure_future(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
    await server.stop(grace=STOP_GRACE_S)
    # exit at once: a worker thread still inside a long cluster call would hold the process past the
    # engine's 5 s (every step is idempotent, so the next run continues from what the cluster shows)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve(register: Callable[[grpc.aio.Server], None], max_workers: int) -> None:
    """Serves the servicer `register` adds until the engine stops the plugin; progress goes to stderr,
    which the engine shows."""
    logs.setup()
    with contextlib.suppress(KeyboardInterrupt):  # a SIGINT before the handlers are in place
        asyncio.run(_serve(register, max_workers))
