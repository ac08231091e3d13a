"""What profiles, networks, storage pools, volumes, projects and network ACLs share: a named LXD object with
a description and config, created with POST, read with GET, updated with PUT, deleted with DELETE, every
call going to the object's LXD project (`?project=`).

Idempotence: before a retry the object is read again. If it exists and already looks as declared, a
create whose answer was lost is adopted; if it exists and differs, it is someone else's object and is
refused (import it with `pulumi import` to manage it). Delete of an object already gone is success.
On a cluster, networks and storage pools are first defined on every member (`?target=`), then created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd
from pylxd.client import _APINode
from pylxd.exceptions import Conflict, NotFound

from cluster.errors import OwnershipConflict, StepFailed
from cluster.facts import read_members
from cluster.names import instance_name_problem
from cluster.operations import send_and_wait
from cluster.retry import with_retries
from lxd_provider.base import Context, Failures, Resource, join_id, split_id
from lxd_provider.config_rules import Table, choice_problem, config_problems

CREATE_TIMEOUT_S = 300  # a volume copy is the slow one: it waits for its data


class NamedObject(Resource):
    collection: ClassVar[str]  # API collection under /1.0, e.g. "profiles"
    what: ClassVar[str]  # "profile"
    compared: ClassVar[tuple[str, ...]] = ("config", "description")  # LXD fields a declaration sets
    member_keys: ClassVar[frozenset[str]] = frozenset()  # config keys defined per member on a cluster
    pending_on_members: ClassVar[bool] = False
    # config keys LXD fills in when nobody declared them (a network's address, a pool's source, a project's
    # features), by prefix ("" = every key): read reports those only when declared, so they never show as drift
    filled_in_by_lxd: ClassVar[tuple[str, ...]] = ()
    # the property that picks which config keys LXD takes (a network's type, a pool's driver): its name, the
    # tables by its value (lxd_provider/config_rules.py), what the value is called, and where LXD lists them
    variant: ClassVar[tuple[str, Mapping[str, Table], str, str] | None] = None

    # --- shape --------------------------------------------------------------------------------
    def node(self, client: pylxd.Client, inputs: Mapping[str, Any]) -> _APINode:
        return getattr(client.api, self.collection)

    def name_of(self, inputs: Mapping[str, Any]) -> str:
        return str(inputs["name"])

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The object as LXD stores it (POST body; PUT takes the same minus the immutable fields)."""
        return {"name": self.name_of(inputs), "description": inputs.get("description", ""),
                "config": {str(k): str(v) for k, v in (inputs.get("config") or {}).items()}}

    def immutable(self) -> tuple[str, ...]:
        return ("name",)

    def params(self, inputs: Mapping[str, Any]) -> dict[str, str]:
        """Query parameters every call on the object carries (a volume's member); a dict even when empty,
        so a client bound to a project can add `project` to it."""
        return {}

    @staticmethod
    def client(ctx: Context, inputs: Mapping[str, Any]) -> pylxd.Client:
        return ctx.client_for(inputs.get("project"))

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": live["name"], "description": live.get("description", ""),
                "config": self.config_from(live.get("config") or {}, old.get("config"))}

    def config_from(self, live: Mapping[str, str], declared: Mapping[str, str] | None) -> dict[str, str]:
        config = {k: v for k, v in sorted(live.items()) if not k.startswith("volatile.")}
        if declared is not None:
            config = {k: v for k, v in config.items() if k in declared or not k.startswith(self.filled_in_by_lxd)}
        # member-specific keys live on each member, not in the cluster-wide record: keep what was declared
        config.update({k: v for k, v in (declared or {}).items() if k in self.member_keys and k not in config})
        return dict(sorted(config.items()))

    def id_for(self, inputs: Mapping[str, Any]) -> str:
        return join_id(inputs.get("project"), self.name_of(inputs))

    def inputs_for_id(self, resource_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
        project, name = split_id(resource_id)
        return {**state, "name": name, "project": project}

    def validate(self, inputs: dict[str, Any]) -> Failures:
        problem = instance_name_problem(self.name_of(inputs))
        failures: Failures = [("name", problem)] if problem else []
        if self.variant:
            prop, tables, what, doc = self.variant
            problem = choice_problem(prop, inputs.get(prop), tables, what, doc)
            failures += [(prop, problem)] if problem else []
        return failures

    def declares(self, inputs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        """The object, by its `what`, with the value of its variant (what a volume needs of its pool)."""
        return [(self.what, inputs.get("name"), inputs.get(self.variant[0]) if self.variant else None)]

    def config_table(self, inputs: Mapping[str, Any]) -> Table | None:
        """The config keys LXD takes for this object, or None when they are not known here."""
        return self.variant[1].get(inputs.get(self.variant[0])) if self.variant else None

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        table = self.config_table(inputs)
        config = config_problems(table, inputs.get("config"), ctx.olds.get("config"), family=ctx.family) if table \
            else []
        return [*(("config", problem) for problem in config), *super().lxd_problems(ctx, inputs)]

    # --- cluster calls ----------------------------------------------------------------------------
    def _get(self, client: pylxd.Client, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return self.node(client, inputs)[self.name_of(inputs)].get(params=self.params(inputs)).json()["metadata"]
        except NotFound:
            return None

    def _matches(self, client: pylxd.Client, live: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        """Whether an object found where the create goes is this declaration's own (a lost answer)."""
        return not self.diff(self.inputs_from(live, inputs), inputs).changes

    def _define_on_members(self, client: pylxd.Client, inputs: Mapping[str, Any], body: dict[str, Any]) -> None:
        """On a cluster: the object is first defined on each member (with the member-specific keys)."""
        if not (self.pending_on_members and client.host_info.get("environment", {}).get("server_clustered")):
            return
        per_member = {k: v for k, v in body.get("config", {}).items() if k in self.member_keys}
        for member in read_members(client):
            pending = {**{k: body[k] for k in body if k != "config"}, "config": per_member}
            try:
                self.node(client, inputs).post(json=pending, params={"target": member.name})
            except Conflict:
                continue  # defined there by an earlier attempt
        body["config"] = {k: v for k, v in body.get("config", {}).items() if k not in self.member_keys}

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client, body = self.client(ctx, inputs), self.body(inputs)

        def attempt() -> None:
            live = self._get(client, inputs)
            if live is not None:
                if self._matches(client, live, inputs):
                    return  # our own create, whose answer was lost
                fix = f"import it (`pulumi import {self.token} <resource name> {self.id_for(inputs)}`) or choose " \
                      "another name"
                raise OwnershipConflict(f"{self.what} {body['name']}", "already exists and differs from the "
                                        "declaration", fix)
            post = dict(body)
            self._define_on_members(client, inputs, post)
            send_and_wait(client, lambda: self.node(client, inputs).post(json=post, params=self.params(inputs)),
                          CREATE_TIMEOUT_S, f"create {self.what} {body['name']}")

        with_retries(attempt, f"create {self.what} {body['name']}")
        return self.id_for(inputs), self.outputs(ctx, inputs)

    def outputs(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(inputs)

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        old = {**self.inputs_for_id(resource_id, state), **inputs}
        live = with_retries(lambda: self._get(self.client(ctx, old), old), f"read {self.what} {self.name_of(old)}")
        if live is None:
            return None, {}, {}
        live_inputs = self.inputs_from(live, old)
        return resource_id, self.outputs(ctx, live_inputs), live_inputs

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        client, body = self.client(ctx, news), self.body(news)
        mutable = {k: v for k, v in body.items() if k not in self.immutable()}

        def attempt() -> None:
            live = self._get(client, news)
            if live is None:
                raise StepFailed(f"{self.what} {self.name_of(news)}", "does not exist (deleted outside this program?)",
                                 "run `pulumi refresh`, then `pulumi up` to create it again")
            put = {**mutable, "config": {**self.kept_config(live.get("config") or {}, olds, news), **mutable["config"]}}
            self.node(client, news)[self.name_of(news)].put(json=put, params=self.params(news))

        with_retries(attempt, f"update {self.what} {self.name_of(news)}")
        return self.outputs(ctx, news)

    def kept_config(self, live: Mapping[str, str], olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, str]:
        """Keys an update must not drop: LXD's own (volatile) and those it filled in that were never declared
        (a PUT replaces the whole config)."""
        declared = {*(olds.get("config") or {}), *(news.get("config") or {})}
        return {k: v for k, v in live.items()
                if k.startswith("volatile.") or (k.startswith(self.filled_in_by_lxd) and k not in declared)}

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        inputs = self.inputs_for_id(resource_id, state)
        client = self.client(ctx, inputs)

        def attempt() -> None:
            try:
                self.node(client, inputs)[self.name_of(inputs)].delete(params=self.params(inputs))
            except NotFound:
                return

        with_retries(attempt, f"delete {self.what} {self.name_of(inputs)}")


