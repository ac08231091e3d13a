"""Operator-supplied commands (host step, sysctl reader) as templates: split like a shell would, then
each word formatted with named fields, so a value can never turn into extra words or shell syntax."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from cluster.errors import ConfigError
from config.operations import command_words


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str


def render(template: str, **fields: str) -> list[str]:
    """`ssh root@{address} sysctl -n {key}` -> argv (config.operations.command_words)."""
    try:
        return command_words(template, **fields)
    except ValueError as error:
        raise ConfigError("command template", str(error), "fix the template's fields") from error


def run(argv: list[str], timeout_s: float, cwd: str | None = None) -> CommandResult:
    """Runs to completion or `timeout_s` (then it counts as failed: returncode 124)."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=cwd)
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or "") if isinstance(error.stdout, str) else ""
        return CommandResult(124, output + f"\n{argv[0]}: timed out after {timeout_s:.0f}s")
    except OSError as error:
        return CommandResult(127, f"{argv[0]}: {error.strerror}")
    return CommandResult(result.returncode, (result.stdout + result.stderr).strip())
