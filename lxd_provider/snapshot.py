"""`lxd:index/snapshot:Snapshot`: a snapshot of an instance, taken once (every property replaces it).

A stateful snapshot keeps the runtime state too, where the server allows it: of a running instance
only, of a VM only with `migration.stateful` set (on Incus 6.0 a container too), of a container only
where CRIU is installed on its member. What the instance's record shows is refused at preview; CRIU the
server reports only when asked for the snapshot, so that refusal comes at create -- both name
`stateful` and the fix. Restoring is an operation, not a declaration (docs/provider.md, "Snapshots").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd
from pylxd.exceptions import NotFound

from cluster.connection import DEFAULT_PROJECT
from cluster.errors import OwnershipConflict, StepFailed
from cluster.facts import is_running, read_instance
from cluster.operations import OperationFailed, get_or_none, post_and_wait, send_and_wait
from cluster.retry import with_retries
from cluster.server_family import ServerFamily
from lxd_provider.base import Context, Failures, Resource, instance_problems, join_id
from lxd_provider.spec import BOOLEAN, INSTANCE, PROJECT, STRING, Prop

SNAPSHOT_TIMEOUT_S = 600  # a stateful snapshot writes the instance's memory out
NAME_RE = re.compile(r"^[^/\s]{1,63}$")
# why LXD refuses a stateful snapshot (its own words) -> the fix
STATEFUL_FIXES = {
    "isn't running": "start the instance (running: true), or set stateful: false",
    "CRIU": "install CRIU on the member that runs the instance (`apt install criu`), or set stateful: false",
    "migration.stateful": 'set config migration.stateful: "true" on the instance (applied at its next start), '
                          "or set stateful: false",
}


def read_snapshot(client: pylxd.Client, instance: str, name: str) -> dict[str, Any] | None:
    """The snapshot's record; None when it or its instance does not exist."""
    return get_or_none(client.api.instances[instance].snapshots[name])


def stateful_refusal(record: Mapping[str, Any], family: ServerFamily) -> str | None:
    """What in the instance's record makes the server refuse a stateful snapshot (its phrase), or None."""
    if not is_running(record):
        return "isn't running"
    config = record.get("expanded_config") or record.get("config") or {}
    if record.get("type", "container") in family.stateful_needs_config and config.get("migration.stateful") != "true":
        return "migration.stateful"
    return None


class Snapshot(Resource):
    token: ClassVar[str] = "lxd:index/snapshot:Snapshot"
    description: ClassVar[str] = ("A snapshot of an LXD instance, taken once. Restore it with `lxc restore "
                                  "<instance> <name>` (see the provider's docs).")
    id_description: ClassVar[str] = "[<project>/]<instance>/<name>"
    props = (
        Prop("name", STRING, "Snapshot name.", required=True, replaces=True),
        INSTANCE,
        Prop("stateful", BOOLEAN, "Keep the runtime state too: a running instance; on a container CRIU on its "
             "member, on a VM config migration.stateful=true.", default=False, replaces=True),
        PROJECT,
        Prop("createdAt", STRING, "When LXD took it (UTC).", input=False),
    )

    def validate(self, inputs: dict[str, Any]) -> Failures:
        failures: Failures = []
        if not NAME_RE.match(str(inputs["name"])):
            failures.append(("name", f"{inputs['name']!r} is not a snapshot name: 1 to 63 characters, no slash or "
                                     "space"))
        return failures + instance_problems(inputs)

    def live_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        if not inputs.get("stateful"):
            return []
        client, instance = ctx.client_for(inputs.get("project")), inputs["instance"]
        record = with_retries(lambda: read_instance(client, instance), f"read {instance}")
        # not there yet: declared in the same program
        refusal = stateful_refusal(record, ctx.family) if record else None
        if refusal is None:
            return []
        what = "is not running" if refusal == "isn't running" else "has no config migration.stateful=true"
        return [("stateful", f"stateful: true, but instance {instance} {what}, and LXD takes a stateful snapshot "
                             f"only of a running instance that allows it. Fix: {STATEFUL_FIXES[refusal]}")]

    @staticmethod
    def _parts(resource_id: str) -> tuple[str, str, str]:
        parts = resource_id.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise StepFailed(f"snapshot id {resource_id!r}", "is not [<project>/]<instance>/<name>",
                             "import it as `<instance>/<snapshot>` or `<project>/<instance>/<snapshot>`")
        return (parts[0] if len(parts) == 3 else DEFAULT_PROJECT), parts[-2], parts[-1]

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client, instance, name = ctx.client_for(inputs.get("project")), inputs["instance"], inputs["name"]
        stateful = bool(inputs.get("stateful"))

        def attempt() -> dict[str, Any]:
            live = read_snapshot(client, instance, name)
            if live is not None:
                if bool(live.get("stateful")) == stateful:
                    return live  # our own snapshot, whose answer was lost
                raise OwnershipConflict(f"snapshot {instance}/{name}", f"already exists (stateful: "
                                        f"{str(bool(live.get('stateful'))).lower()})",
                                        f"choose another name, or delete it (`lxc delete {instance}/{name}`)")
            try:
                post_and_wait(client, client.api.instances[instance].snapshots, {"name": name, "stateful": stateful},
                              SNAPSHOT_TIMEOUT_S, f"snapshot {instance}/{name}")
            except NotFound as error:
                raise StepFailed(f"instance {instance}", "does not exist, so it cannot be snapshotted",
                                 "create the instance first (pass its `name` output as `instance`)") from error
            except OperationFailed as error:
                fix = next((f for phrase, f in STATEFUL_FIXES.items() if phrase in str(error)), None)
                if not stateful or fix is None:
                    raise
                raise StepFailed(f"snapshot {instance}/{name}", f"stateful: true was refused by LXD ({error})",
                                 fix) from error
            return read_snapshot(client, instance, name) or {}

        live = with_retries(attempt, f"snapshot {instance}/{name}")
        return join_id(inputs.get("project"), f"{instance}/{name}"), {**inputs, "createdAt": live.get("created_at", "")}

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        project, instance, name = self._parts(resource_id)
        client = ctx.client_for(project)
        live = with_retries(lambda: read_snapshot(client, instance, name), f"read snapshot {instance}/{name}")
        if live is None:
            return None, {}, {}
        live_inputs = {"name": name, "instance": instance, "stateful": bool(live.get("stateful")), "project": project}
        return resource_id, {**live_inputs, "createdAt": live.get("created_at", "")}, live_inputs

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return {**news, "createdAt": olds.get("createdAt", "")}  # every input replaces: nothing to change

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        project, instance, name = self._parts(resource_id)
        client = ctx.client_for(project)

        def attempt() -> None:
            try:
                send_and_wait(client, lambda: client.api.instances[instance].snapshots[name].delete(),
                              SNAPSHOT_TIMEOUT_S, f"delete snapshot {instance}/{name}")
            except NotFound:
                return  # gone already (or with its instance)

        with_retries(attempt, f"delete snapshot {instance}/{name}")
