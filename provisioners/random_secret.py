"""A random secret generated once at create and kept (encrypted) in the state.

Used for values every replica must share but no operator needs to choose, such as the registry's
`http.secret`; replacing the resource (`pulumi up --replace`) rotates it.
"""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from provisioners.dynamic_support import with_secret_outputs


class RandomSecretProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(secrets.token_hex(8), {**props, "value": secrets.token_urlsafe(int(props["length"]))})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("length") != news.get("length")
        return DiffResult(changes=changed, replaces=["length"] if changed else [], delete_before_replace=False)


class RandomSecret(pulumi.dynamic.Resource):
    value: pulumi.Output[str]

    def __init__(self, resource_name: str, length: int = 32, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RandomSecretProvider(), resource_name, {"length": length, "value": None},
                         with_secret_outputs(opts, ["value"]))
