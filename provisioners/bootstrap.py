"""Runs a bootstrap plan in one container over LXD exec, step by step, reporting as it goes."""

from __future__ import annotations

import logging

import pylxd

from cluster.steps import run_in_instance
from provisioners.bootstrap_plan import ACCESS_STEP, Step

log = logging.getLogger(__name__)

STEP_TIMEOUT_S = 600
OUTPUT_TAIL_LINES = 20


class BootstrapError(RuntimeError):
    """A bootstrap step failed; names the step and carries its stderr."""


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-OUTPUT_TAIL_LINES:])


def run_plan(client: pylxd.Client, instance: str, steps: list[Step]) -> str:
    """Runs every step in order; returns the SSH host public key the plan reads at the end."""
    host_key = ""
    for index, step in enumerate(steps, 1):
        log.info("[%s] bootstrap %d/%d: %s", instance, index, len(steps), step.name)
        # steps are idempotent: a step cut short by a member restart is run again once the instance runs
        result = run_in_instance(client, instance, ["sh", "-c", step.script], STEP_TIMEOUT_S,
                                 f"bootstrap step {step.name} in {instance}")
        if result.stdout.strip() and step.name != ACCESS_STEP:
            log.info("[%s] %s: %s", instance, step.name, _tail(result.stdout).replace("\n", f"\n[{instance}]   "))
        if result.exit_code != 0:
            raise BootstrapError(
                f"bootstrap step '{step.name}' failed in {instance} (exit {result.exit_code}):\n"
                f"{_tail(result.stderr) or _tail(result.stdout)}"
            )
        if step.name == ACCESS_STEP:
            host_key = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return host_key
