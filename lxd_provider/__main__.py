"""Entry point of the `pulumi-resource-lxd` plugin: `python -m lxd_provider <engine address>`."""

from __future__ import annotations

from pulumi.runtime.proto import provider_pb2_grpc

from lxd_provider.server import LxdProvider
from lxd_provider.service import ProviderService
from plugin_host.grpc_server import serve

MAX_WORKERS = 32  # LXD calls in flight at once (the engine limits how many operations it sends)


def main() -> None:
    serve(lambda server: provider_pb2_grpc.add_ResourceProviderServicer_to_server(
        ProviderService(LxdProvider()), server), MAX_WORKERS)


if __name__ == "__main__":
    main()
