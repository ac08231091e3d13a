"""The members' roles as Patroni reports them: read once the cluster is configured, and again by
`pulumi refresh`, for the stack's outputs. A role changes with every failover and is no change to make:
the diff compares only the inputs (which members, where), never the roles.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from cluster.polling import WaitTimeout, wait_until
from provisioners.patroni import Patroni, PatroniError

INPUTS = ("scope", "members", "port")  # `synchronous` only shapes the wait: no change to make
READ_WAIT_S = 60.0
UNKNOWN = "unknown"


def read_roles(members: dict[str, str], port: int, wait_s: float = READ_WAIT_S,
               synchronous: bool = False) -> dict[str, str]:
    """{member name: leader | sync_standby | replica}; waits for a leader (a cluster just configured may
    be electing) and, in synchronous mode, for the standby Patroni picks next (at the end of a first `up`
    it may not have picked one yet). Raises PatroniError when none answers with a leader in time; without
    a synchronous standby in time, the roles as they are."""
    patroni = Patroni(list(members.values()), port, "")
    with_leader: list[dict[str, str]] = []

    def settled() -> bool:
        view = patroni.cluster()
        if view.leader is None:
            return False
        with_leader.append({m.name: m.role for m in view.members})
        return not synchronous or len(members) < 2 or bool(view.sync_standbys)

    try:
        wait_until(settled, timeout_s=wait_s, poll_s=1, what="a leader in Patroni's view", not_yet=(PatroniError,))
    except WaitTimeout as error:
        if not with_leader:
            raise PatroniError(str(error)) from None
    return {name: with_leader[-1].get(name, UNKNOWN) for name in members}


class PatroniRolesProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        roles = read_roles(props["members"], int(props["port"]), synchronous=bool(props.get("synchronous")))
        return CreateResult(f"roles-{props['scope']}", {**props, "roles": roles})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "roles": read_roles(news["members"], int(news["port"]),
                                                         synchronous=bool(news.get("synchronous")))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """On refresh: today's roles, or `unknown` for each while no member answers (refresh goes on)."""
        try:
            roles = read_roles(props["members"], int(props["port"]), wait_s=5)
        except PatroniError:
            roles = {name: UNKNOWN for name in props["members"]}
        return ReadResult(id_, {**props, "roles": roles})


class PatroniRoles(pulumi.dynamic.Resource):
    roles: pulumi.Output[dict[str, str]]

    def __init__(self, resource_name: str, scope: str, members: pulumi.Input[dict[str, str]], port: int,
                 synchronous: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PatroniRolesProvider(), resource_name, {"scope": scope, "members": members, "port": port,
                                                                 "synchronous": synchronous, "roles": None}, opts)
