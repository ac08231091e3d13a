"""Dynamic provider that applies a playbook to one container with ansible-runner.

The role content hash is an input: editing a role re-applies it on the next `pulumi up` without
replacing the container. Plain containers' applies that arrive together share one ansible-playbook
run (ansible_batch); a service's replicas (a rolling group) each run on their own, in the gate's order.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from provisioners.ansible_apply import AnsibleJob, AnsibleTarget, content_hash, raise_for_host, run_playbook
from provisioners.ansible_batch import PlaybookBatches
from provisioners.dynamic_support import with_secret_outputs
from provisioners.rolling_gate import GATE

RERUN_KEYS = ("host", "address", "host_key", "playbook", "content_hash", "extra_vars", "project_dir")
BATCHES = PlaybookBatches(run_playbook)  # one per dynamic-provider host process, shared by its threads


def apply_alone(target: AnsibleTarget, job: AnsibleJob) -> None:
    raise_for_host(run_playbook([target], job), target.name)


class AnsibleProvider(ResourceProvider):
    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        target = AnsibleTarget(props["host"], props["address"], props["host_key"], props["private_key"])
        job = AnsibleJob(props["project_dir"], props["playbook"], dict(props.get("extra_vars") or {}))
        (apply_alone if props.get("rolling_group") else BATCHES.apply)(target, job)
        return props

    @staticmethod
    def _turn(props: dict[str, Any], setup: bool) -> contextlib.AbstractContextManager[None]:
        """The replica's turn in its service's rolling gate (none for a container of no service)."""
        group = props.get("rolling_group")
        if not group:
            return contextlib.nullcontext()
        return GATE.setup(group, props["host"]) if setup else GATE.update(group, props["host"])

    def create(self, props: dict[str, Any]) -> CreateResult:
        with self._turn(props, setup=True):
            return CreateResult(f"{props['host']}-{props['playbook']}", self._apply(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in RERUN_KEYS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with self._turn(news, setup=False):
            return UpdateResult(self._apply(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class AnsibleApply(pulumi.dynamic.Resource):
    content_hash: pulumi.Output[str]

    def __init__(self, resource_name: str, host: pulumi.Input[str], address: pulumi.Input[str],
                 host_key: pulumi.Input[str], private_key: pulumi.Input[str], project_dir: str, playbook: str,
                 extra_vars: pulumi.Input[dict] | None = None, rolling_group: str | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "host": host,
            "address": address,
            "host_key": host_key,
            "private_key": pulumi.Output.secret(private_key),
            "project_dir": project_dir,
            "playbook": playbook,
            "content_hash": content_hash(project_dir),
            "extra_vars": pulumi.Output.secret(extra_vars or {}),
            "rolling_group": rolling_group,  # replicas of one service: updated one at a time (rolling_gate)
        }
        super().__init__(AnsibleProvider(), resource_name, props,
                         with_secret_outputs(opts, ["private_key", "extra_vars"]))
