"""The stack's config as the operations commands see it: the same `Pulumi.<stack>.yaml` the program
reads, through the project's own Pulumi CLI (`pulumi config --json --show-secrets`), so secrets are
decrypted by Pulumi with the stack's passphrase and never parsed by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.connection import LxdEndpoint, certificate_fingerprint, normalize_fingerprint, validate_endpoint
from cluster.errors import ConfigError
from components.config_files import read_config_file
from ops.pulumi_cli import ROOT, PulumiCli


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
    result = PulumiCli(workdir, stack, timeout_s=120).run("config", "--json", "--show-secrets")
    return parse_config_json(stack, result.stdout, workdir)


def _inline_or_file(config: StackConfig, key: str) -> str | None:
    inline = config.get(f"lxd:{key}")
    if inline is not None:
        return str(inline)
    if config.get(f"lxd:{key}File") is None:
        return None
    return read_config_file(f"lxd:{key}File", str(config.path(f"lxd:{key}File")))


def endpoint_from_stack(config: StackConfig) -> LxdEndpoint:
    """The LXD connection, by the same keys and rules as components/connection_config.py."""
    url = config.get("lxd:remote")
    if not url:
        raise ConfigError("lxd:remote", f"is not set in stack {config.stack}", "set lxd:remote")
    if config.get("lxd:serverFingerprint"):
        fingerprint = normalize_fingerprint(str(config.get("lxd:serverFingerprint")))
    elif config.get("lxd:serverCertFile"):
        fingerprint = certificate_fingerprint(read_config_file("lxd:serverCertFile",
                                                               str(config.path("lxd:serverCertFile"))))
    else:
        raise ConfigError("lxd:serverFingerprint", "no server certificate is pinned",
                          "set lxd:serverFingerprint or lxd:serverCertFile")
    endpoint = LxdEndpoint(
        url=str(url), server_fingerprint=fingerprint,
        client_cert_pem=_inline_or_file(config, "clientCert") or "",
        client_key_pem=_inline_or_file(config, "clientKey") or "",
        trust_password=_inline_or_file(config, "trustPassword") or "",
        timeout_s=float(config.get("lxd:timeoutS") or 60.0),
    )
    problems = validate_endpoint(endpoint)
    if problems:
        raise ConfigError(problems[0].split(" ")[0], "; ".join(problems), f"correct the config of stack {config.stack}")
    return endpoint
