"""The `pulumi-resource-lxd` plugin: the engine's calls, routed to the resource types.

Connection settings (`lxd:*` stack config) arrive in Configure at every run and are never frozen into
resource state, so refresh and destroy use today's remote and pinned certificate. Every call that
touches the cluster runs in a worker thread (pylxd blocks), so several creates proceed at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    InvokeRequest,
    InvokeResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from cluster.connection import ClusterConnection
from cluster.errors import ActionableError, ConfigError, ProjectMissing
from config.lxd import KEYS, endpoint_from_settings
from lxd_provider.base import Context, Resource
from lxd_provider.functions import Function
from lxd_provider.functions import by_token as functions_by_token
from lxd_provider.references import Declared
from lxd_provider.schema import by_token, schema
from lxd_provider.values import UNKNOWN, has_unknowns, marshal, plain_map

T = TypeVar("T")


class LxdProvider(Provider):
    def __init__(self, base_dir: Path | None = None) -> None:
        self._base_dir = base_dir or Path.cwd()
        self._connection: ClusterConnection | None = None
        self._config_error: ActionableError | None = None
        self._resources: dict[str, Resource] = {token: cls() for token, cls in by_token().items()}
        self._functions: dict[str, Function] = functions_by_token()
        self._declared = Declared()  # what this run's program declares, as its resources are checked

    # --- provider ---------------------------------------------------------------------------------
    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(json.dumps(schema()))

    def _endpoint_problem(self, values: dict[str, Any]) -> ConfigError | None:
        if has_unknowns(values):
            return None
        try:
            endpoint_from_settings(lambda key: values.get(key), self._base_dir)
        except ConfigError as error:
            return error
        return None

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        values = plain_map(request.new_inputs)
        problem = await asyncio.to_thread(self._endpoint_problem, values)
        failures = [CheckFailure(problem.field.removeprefix("lxd:"), str(problem))] if problem else None
        return CheckResponse(inputs=request.new_inputs, failures=failures)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        """A new remote or certificate is an update of the connection, never a replacement of what it manages."""
        olds, news = plain_map(request.old_state), plain_map(request.new_inputs)
        changed = sorted(k for k in KEYS if olds.get(k) != news.get(k))
        return DiffResponse(changes=bool(changed), diffs=changed,
                            detailed_diff={k: PropertyDiff(PropertyDiffKind.UPDATE, True) for k in changed})

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        values = plain_map(request.args) if request.args else {
            key.split(":", 1)[1]: value for key, value in request.variables.items() if key.startswith("lxd:")}
        if self._connection is not None:
            await asyncio.to_thread(self._connection.close)
            self._connection = None
        self._config_error = None
        if not has_unknowns(values):
            try:
                endpoint = await asyncio.to_thread(endpoint_from_settings, lambda key: values.get(key), self._base_dir)
                self._connection = ClusterConnection(endpoint)
            except ConfigError as error:
                self._config_error = error
        return ConfigureResponse(accept_secrets=True, supports_preview=True, accept_resources=True,
                                 accept_outputs=True)

    def _context(self, urn: str, preview: bool = False, olds: dict[str, Any] | None = None) -> Context:
        if self._connection is None and self._config_error is not None:
            raise self._config_error
        return Context(self._connection, urn, preview, olds or {}, self._declared)

    def _resource(self, urn: str) -> Resource:
        token = urn.split("::")[-2].split("$")[-1]
        if token not in self._resources:
            raise ConfigError(token, "is not a resource type of this provider",
                              f"use one of {', '.join(sorted(self._resources))}")
        return self._resources[token]

    @staticmethod
    async def _run(call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def _change(self, call: Callable[..., T], *args: Any) -> T:
        """A call that changes the cluster: listings read before it ends are not reused after it."""
        try:
            return await self._run(call, *args)
        finally:
            if self._connection is not None:
                self._connection.recent_reads.forget()

    # --- functions --------------------------------------------------------------------------------
    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        function = self._functions.get(request.tok)
        if function is None:
            raise ConfigError(request.tok, "is not a function of this provider",
                              f"use one of {', '.join(sorted(self._functions))}")
        results, failures = await self._run(function.call, self._context(""), plain_map(request.args))
        return InvokeResponse(return_value=marshal(results) if results is not None else None,
                              failures=[CheckFailure(arg, reason) for arg, reason in failures])

    # --- resources --------------------------------------------------------------------------------
    async def check(self, request: CheckRequest) -> CheckResponse:
        resource = self._resource(request.urn)
        ctx = self._context(request.urn, olds=plain_map(request.old_inputs or {}))
        inputs, failures = await self._run(resource.check, ctx, plain_map(request.new_inputs))
        return CheckResponse(inputs=marshal(inputs, resource.secret_names()),
                             failures=[CheckFailure(prop, reason) for prop, reason in failures] or None)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        resource = self._resource(request.urn)
        result = resource.diff(plain_map(request.old_state), plain_map(request.new_inputs))
        ignored = set(request.ignore_changes)
        detailed = {k: v for k, v in result.detailed.items() if k not in ignored}
        replaces = [k for k in result.replaces if k not in ignored]
        # a replacement that keeps the name must delete first: the new object cannot exist beside the old
        keeps_name = "name" not in replaces and any(p.name == "name" for p in resource.inputs())
        return DiffResponse(changes=bool(detailed), replaces=replaces,
                            delete_before_replace=bool(replaces) and keeps_name, diffs=sorted(detailed),
                            detailed_diff=detailed)

    def _preview_outputs(self, resource: Resource, inputs: dict[str, Any]) -> dict[str, PropertyValue]:
        outputs = {**inputs, **{p.name: UNKNOWN for p in resource.props if not p.input}}
        return marshal(outputs, resource.secret_names())

    async def create(self, request: CreateRequest) -> CreateResponse:
        resource = self._resource(request.urn)
        inputs = plain_map(request.properties)
        if request.preview:
            return CreateResponse(resource_id="", properties=self._preview_outputs(resource, inputs))
        resource_id, outputs = await self._change(resource.create, self._context(request.urn), inputs)
        return CreateResponse(resource_id=resource_id, properties=marshal(outputs, resource.secret_names()))

    async def read(self, request: ReadRequest) -> ReadResponse:
        resource = self._resource(request.urn)
        try:
            resource_id, outputs, inputs = await self._run(resource.read, self._context(request.urn),
                                                           request.resource_id, plain_map(request.properties),
                                                           plain_map(request.inputs))
        except ProjectMissing:
            resource_id = None  # the project is gone, and everything that was in it
        if resource_id is None:
            return ReadResponse(resource_id=None, properties={}, inputs={})
        secrets = resource.secret_names()
        return ReadResponse(resource_id=resource_id, properties=marshal(outputs, secrets),
                            inputs=marshal(inputs, secrets))

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        resource = self._resource(request.urn)
        news = plain_map(request.news)
        if request.preview:
            return UpdateResponse(properties=self._preview_outputs(resource, news))
        outputs = await self._change(resource.update, self._context(request.urn), request.resource_id,
                                  plain_map(request.olds), news)
        return UpdateResponse(properties=marshal(outputs, resource.secret_names()))

    async def delete(self, request: DeleteRequest) -> None:
        resource = self._resource(request.urn)
        try:
            await self._change(resource.delete, self._context(request.urn), request.resource_id,
                               plain_map(request.properties))
        except ProjectMissing:
            return  # gone with its project

