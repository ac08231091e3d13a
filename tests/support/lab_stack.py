"""A throw-away stack of this project on the lab: the lab stack's config plus per-test overrides.

The stack file is generated (git-ignored `Pulumi.it-*.yaml`) so tests never edit Pulumi.lab.yaml,
and the stack is destroyed and removed at the end even when the test fails half-way.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from typing import Any

import yaml

from ops.lab_secrets import ensure_all
from ops.pulumi_cli import ROOT, PulumiCli


def stack_config(stack: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Pulumi.lab.yaml's config with `overrides` (full keys such as `lxdha:containers`) applied.

    The image alias is the stack's own: an alias belongs to one stack (a second one is refused).
    """
    lab = yaml.safe_load((ROOT / "Pulumi.lab.yaml").read_text())
    config = dict(lab["config"])
    config["lxdha:image"] = {**config["lxdha:image"], "alias": f"debian/{stack}"}
    config.pop("lxdha:registry", None)  # only stacks that ask for a registry get one
    config.update(overrides)
    return config


@contextlib.contextmanager
def lab_stack(name: str, overrides: dict[str, Any]) -> Iterator[PulumiCli]:
    """Yields a PulumiCli for stack `it-<name>`; destroys and removes it afterwards."""
    stack = f"it-{name}"
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": stack_config(stack, overrides)}, sort_keys=False))
    ensure_all()
    cli = PulumiCli(ROOT, stack)
    cli.ensure_stack()
    try:
        yield cli
    finally:
        try:
            cli.destroy()
            cli.run("stack", "rm", "--yes", check=False)
        finally:
            stack_file.unlink(missing_ok=True)


def set_config(cli: PulumiCli, key: str, value: Any) -> None:
    """Changes one structured config value of the stack (as an operator would with --path)."""
    stack_file = cli.workdir / f"Pulumi.{cli.stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"][key] = value
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def change_counts(summary: dict[str, Any]) -> dict[str, int]:
    """resourceChanges of an up summary without the 'same' entry: {} means nothing changed."""
    return {op: count for op, count in summary.get("resourceChanges", {}).items() if op != "same" and count}


def ssh_run(address: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs `command` as root over SSH with the lab key (the test checks reachability, not host keys)."""
    key = ROOT / ".state" / "ssh" / "id_ed25519"
    return subprocess.run(["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                           f"root@{address}", command],
                          capture_output=True, text=True, timeout=timeout, check=False)
