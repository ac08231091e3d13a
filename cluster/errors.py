"""Errors whose message is complete for an operator: what is wrong, with which object or setting, and
the fix. Everything that reaches a user (preview, up, the ops commands, the lab CLI) is one of these
or is turned into one; they are printed as one message, never with a traceback."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

# Relative to the working directory: for a plugin, the user's project directory (the engine starts plugins
# there); a message names it absolutely, so nobody looks for it next to the provider's code.
LOG = Path(".state/logs/plugins.log")


class ActionableError(Exception):
    """An error whose message names the object or setting at fault and the fix."""

    def __init__(self, subject: str, problem: str, fix: str) -> None:
        super().__init__(f"{subject}: {problem}. Fix: {fix}")
        self.subject = subject
        self.problem = problem
        self.fix = fix

    @property
    def field(self) -> str:  # the config key, for errors about a setting
        return self.subject


class ConfigError(ActionableError, ValueError):
    """Bad or inconsistent input, detected before anything is created."""


class ConnectionSetupError(ActionableError, RuntimeError):
    """The LXD remote cannot be used as configured (unreachable, wrong pin, not trusted)."""


class MemberNotOnline(ActionableError, RuntimeError):
    """A cluster member a step needs stayed away past its bounded wait."""

    def __init__(self, member: str, status: str, waited_s: float) -> None:
        problem = (f"cluster member is {status}" + (f" after waiting {waited_s:.0f}s" if waited_s else "")
                   if status != "missing" else "no such cluster member")
        super().__init__(f"member {member}", problem,
                         "check `lxc cluster list` and the member's daemon; once it is ONLINE, run the same "
                         "command again: it continues from what the cluster shows")
        self.member = member
        self.status = status


class ProjectMissing(ConfigError):
    """An object names an LXD project the cluster does not have: what is in it is gone, and nothing can be
    created there until it exists."""

    def __init__(self, project: str) -> None:
        super().__init__(f"project {project!r}", "does not exist in the cluster",
                         "declare it with lxd.Project and pass that resource's `name` output as `project` (so it is "
                         f"created first), or create it (`lxc project create {project}`)")
        self.project = project


class OwnershipConflict(ActionableError, RuntimeError):
    """An LXD object of that name exists and belongs to someone else: never adopted, never deleted."""


class StepFailed(ActionableError, RuntimeError):
    """A cluster step failed for a reason that waiting does not fix (LXD's message is kept)."""


class TransientError(RuntimeError):
    """A state that heals by waiting (e.g. an operation a restarting member forgot): retried after a re-read."""


def user_message(error: BaseException, log: Path = LOG) -> str:
    """What a plugin (native or dynamic provider) reports for a failure: an ActionableError as is; anything
    else as its type and message, with the traceback kept in `log` for whoever debugs it."""
    if isinstance(error, ActionableError):
        return str(error)
    log = log.absolute()
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as handle:
            handle.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
            handle.write("".join(traceback.format_exception(error)))
        where = f"; details in {log}"
    except OSError:
        where = ""
    return f"{type(error).__name__}: {error}{where}"
