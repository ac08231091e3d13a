"""Small pieces every dynamic resource needs."""

from __future__ import annotations

import pulumi


def with_secret_outputs(opts: pulumi.ResourceOptions | None, names: list[str]) -> pulumi.ResourceOptions:
    """Marks outputs secret (e.g. the connection, which delete needs from the outputs)."""
    extra = pulumi.ResourceOptions(additional_secret_outputs=names)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra
