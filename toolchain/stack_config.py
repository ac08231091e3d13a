"""The stack's config as the operations commands see it: the same `Pulumi.<stack>.yaml` the program
reads, through the project's own Pulumi CLI (`pulumi config --json --show-secrets`), so secrets are
decrypted by Pulumi with the stack's passphrase and never parsed by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.connection import LxdEndpoint
from cluster.errors import ConfigError
from config.lxd import endpoint_from_settings
from toolchain.pulumi_cli import ROOT, PulumiCli
from toolchain.stack_files import PrivateSalt


@dataclass(frozen=True)
class StackConfig:
    """`namespace:key` -> value (objects as dicts), for one stack."""

    stack: str
    values: dict[str, Any] = field(repr=False)  # decrypted secrets among them
    workdir: Path = ROOT

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def path(self, key: str) -> Path:
        """A `*File` setting, relative paths taken from the project directory as the program does."""
        path = Path(str(self.values[key])).expanduser()
        return path if path.is_absolute() else self.workdir / path


def parse_config_json(stack: str, text: str, workdir: Path = ROOT) -> StackConfig:
    raw = json.loads(text or "{}")
    values = {key: entry.get("objectValue", entry.get("value")) for key, entry in raw.items()}
    return StackConfig(stack, values, workdir)


def read_stack_config(stack: str, workdir: Path = ROOT) -> StackConfig:
    cli = PulumiCli(workdir, stack, timeout_s=120)
    if PrivateSalt.applies(stack):
        cli.ensure_stack()  # the lab stack's config is committed: its backend entry is made on first use
    result = cli.run("config", "--json", "--show-secrets", check=False)
    if result.returncode != 0:
        raise ConfigError(f"stack {stack}", f"its config cannot be read ({result.stderr.strip()[-300:]})",
                          f"create it (`pulumi stack init {stack}`) and set its lxd:* config; "
                          "see docs/config.md (stacks)")
    return parse_config_json(stack, result.stdout, workdir)


def endpoint_from_stack(config: StackConfig) -> LxdEndpoint:
    """The LXD connection, by the same keys and rules as the provider and the dynamic providers."""
    return endpoint_from_settings(lambda key: config.get(f"lxd:{key}"), config.workdir, f"stack {config.stack}")
