"""What every dynamic resource of this project needs.

Dynamic providers that talk to the cluster take the connection from the stack's config at every run
(`configure`), never from their inputs: a connection frozen into state is yesterday's, and after the
cluster is re-created or its certificate rotated, refresh and destroy would fail on the old pin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest, ResourceProvider

from cluster.connection import LxdEndpoint
from config.lxd import KEYS, endpoint_from_settings


class ClusterProvider(ResourceProvider):
    """A dynamic provider with the stack's current `lxd:*` connection settings."""

    def configure(self, req: ConfigureRequest) -> None:
        self._lxd_settings = {key: req.config.get(f"lxd:{key}") for key in KEYS}

    def endpoint(self) -> LxdEndpoint:
        settings: dict[str, Any] = getattr(self, "_lxd_settings", {})
        return endpoint_from_settings(lambda key: settings.get(key), Path.cwd())


def with_secret_outputs(opts: pulumi.ResourceOptions | None, names: list[str]) -> pulumi.ResourceOptions:
    """Marks outputs secret (e.g. a private key the provider needs again at update)."""
    extra = pulumi.ResourceOptions(additional_secret_outputs=names)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra


def fixed_name(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Delete before replace, always: the cluster object's name is fixed, so a replacement created
    first would meet (and adopt) the old object, which the engine then deletes. Set as an option
    because `pulumi up --replace` does not consult the provider's diff."""
    extra = pulumi.ResourceOptions(delete_before_replace=True)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra
