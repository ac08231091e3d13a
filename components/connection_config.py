"""Reads the LXD connection from stack config, as one secret Output for the dynamic providers that
still take it as an input.

The keys and rules are cluster/settings.py's (shared with the providers that read them in
`configure` and with the operations commands); this adds the URL syntax check of `lxd:remote` and
wraps the result as a secret, so neither the key nor the trust password reaches the state in plaintext.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from cluster.errors import ConfigError
from cluster.settings import endpoint_from_settings
from provisioners.input_checks import url_problem

NAMESPACE = "lxd"


def endpoint_from_config() -> pulumi.Output[dict]:
    """The connection inputs every dynamic provider takes; validated before anything is created."""
    config = pulumi.Config(NAMESPACE)
    remote = config.get("remote")
    problem = url_problem(remote, schemes=("https",), path_allowed=False) if remote else None
    if problem:
        raise ConfigError(f"{NAMESPACE}:remote", problem, "set lxd:remote to https://<load balancer>:8443")
    endpoint = endpoint_from_settings(config.get, Path.cwd())
    return pulumi.Output.secret(endpoint.to_inputs())

