"""Small pieces every dynamic resource needs."""

from __future__ import annotations

import pulumi


def with_secret_outputs(opts: pulumi.ResourceOptions | None, names: list[str]) -> pulumi.ResourceOptions:
    """Marks outputs secret (e.g. the connection, which delete needs from the outputs)."""
    extra = pulumi.ResourceOptions(additional_secret_outputs=names)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra


def fixed_name(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Delete before replace, always: the cluster object's name is fixed, so a replacement created
    first would meet (and adopt) the old object, which the engine then deletes. Set as an option
    because `pulumi up --replace` does not consult the provider's diff."""
    extra = pulumi.ResourceOptions(delete_before_replace=True)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra
