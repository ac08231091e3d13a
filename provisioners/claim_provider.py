"""Dynamic provider for a service's address claim (VIP + VRID), recorded in the cluster.

`check` (preview) refuses a VIP or VRID someone else has or claims, naming the holder; `create` claims
both (idempotent, first stack wins); `update` claims the new values and releases the old; `delete`
releases only this stack's claims; `read` reports a claim that vanished, so `pulumi refresh` forgets
it and the next `up` claims again. The logic is in `provisioners/address_claims.py`.

The LXD connection is NOT an input: it is read from the stack's current `lxd:*` config in
`configure` (ClusterProvider), so a claim never holds a connection that went stale after a
certificate change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
import pylxd
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from cluster.connection import shared_client
from cluster.errors import ActionableError
from provisioners.address_claims import ClaimRequest, collision_problems, ensure_claimed, held, read_facts, release
from provisioners.dynamic_support import ClusterProvider

INPUT_KEYS = ("owner", "service", "vip", "subnet", "vrid", "replicas", "setting")


def request_from(props: dict[str, Any]) -> ClaimRequest:
    return ClaimRequest(owner=str(props["owner"]), service=str(props.get("service") or ""), vip=str(props["vip"]),
                        subnet=str(props["subnet"]), vrid=int(props["vrid"]),
                        replicas=tuple(props.get("replicas") or ()),
                        setting=str(props.get("setting") or "lxdha:registry"))


class AddressClaimProvider(ClusterProvider):
    """The connection comes from configure() (ClusterProvider): the stack's lxd:* settings of this run."""

    @contextmanager
    def _client(self) -> Iterator[pylxd.Client]:
        with shared_client(self.endpoint()) as client:
            yield client

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        try:
            request = request_from(news)
            with self._client() as client:
                problems = collision_problems(request, *read_facts(client))
        except ActionableError as error:  # not reachable, not trusted, bad lxd:* settings
            problems = [("vip", str(error))]
        return CheckResult(news, [CheckFailure(field, message) for field, message in problems])

    def create(self, props: dict[str, Any]) -> CreateResult:
        request = request_from(props)
        with self._client() as client:
            claims = ensure_claimed(client, request)
        return CreateResult(f"{request.owner}:{request.service}", {**props, "claims": claims})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != news.get(key) for key in INPUT_KEYS)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Claims the new values first, then releases what is no longer claimed (never a moment unclaimed)."""
        request = request_from(news)
        with self._client() as client:
            claims = ensure_claimed(client, request)
            release(client, sorted(set(olds.get("claims") or ()) - set(claims)), str(olds["owner"]))
        return UpdateResult({**news, "claims": claims})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with self._client() as client:
            release(client, props.get("claims") or request_from(props).names(), str(props["owner"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._client() as client:
            if not held(client, request_from(props)):
                return ReadResult(None, {})  # vanished (or taken over): refresh forgets it, up claims again
        return ReadResult(id_, props)


class AddressClaim(pulumi.dynamic.Resource):
    """A service's VIP and VRID, claimed in the cluster for this stack."""

    claims: pulumi.Output[list[str]]

    def __init__(self, resource_name: str, request: ClaimRequest, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"owner": request.owner, "service": request.service, "vip": request.vip, "subnet": request.subnet,
                 "vrid": request.vrid, "replicas": list(request.replicas), "setting": request.setting, "claims": None}
        super().__init__(AddressClaimProvider(), resource_name, props, opts)
