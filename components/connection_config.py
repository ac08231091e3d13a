"""Reads the LXD connection from stack config, as one secret Output for the dynamic providers.

Each value may be given inline (`lxd:clientKey`, set with `--secret`) or as a file path
(`lxd:clientKeyFile`), which is how the lab stack points at the files the lab writes. Values read
from files are wrapped as secrets, so they never reach the state in plaintext.
"""

from __future__ import annotations

import pulumi

from cluster.connection import LxdEndpoint, certificate_fingerprint, normalize_fingerprint, validate_endpoint
from cluster.errors import ConfigError
from components.config_files import read_config_file

NAMESPACE = "lxd"


def _read_file(key: str, path: str) -> str:
    return read_config_file(f"{NAMESPACE}:{key}", path)


def _inline_or_file(config: pulumi.Config, key: str, secret: bool) -> pulumi.Output[str] | str | None:
    inline = config.get_secret(key) if secret else config.get(key)
    if inline is not None:
        return inline
    path = config.get(f"{key}File")
    if path is None:
        return None
    content = _read_file(f"{key}File", path)
    return pulumi.Output.secret(content) if secret else content


def _server_fingerprint(config: pulumi.Config) -> str:
    pinned = config.get("serverFingerprint")
    if pinned:
        return normalize_fingerprint(pinned)
    cert_path = config.get("serverCertFile")
    if cert_path:
        return certificate_fingerprint(_read_file("serverCertFile", cert_path))
    raise ConfigError(f"{NAMESPACE}:serverFingerprint", "no server certificate is pinned",
                      "set lxd:serverFingerprint (sha256 from `lxc info`) or lxd:serverCertFile")


def _required(value: object, key: str, how: str) -> object:
    if value is None:
        raise ConfigError(f"{NAMESPACE}:{key}", "is not set", how)
    return value


def endpoint_from_config() -> pulumi.Output[dict]:
    """The connection inputs every dynamic provider takes; validated before anything is created."""
    config = pulumi.Config(NAMESPACE)
    url = _required(config.get("remote"), "remote", "set lxd:remote to https://<load balancer>:8443")
    fingerprint = _server_fingerprint(config)
    cert = _required(_inline_or_file(config, "clientCert", secret=False), "clientCert",
                     "set lxd:clientCert (PEM) or lxd:clientCertFile")
    key = _required(_inline_or_file(config, "clientKey", secret=True), "clientKey",
                    "set lxd:clientKey with --secret, or lxd:clientKeyFile")
    password = _inline_or_file(config, "trustPassword", secret=True) or ""
    timeout_s = config.get_float("timeoutS") or 60.0

    def build(values: list) -> dict:
        cert_pem, key_pem, trust_password = values
        endpoint = LxdEndpoint(url, fingerprint, cert_pem, key_pem, trust_password, timeout_s)
        problems = validate_endpoint(endpoint)
        if problems:
            raise ConfigError(problems[0].split(" ")[0], "; ".join(problems), "correct the stack config")
        return endpoint.to_inputs()

    return pulumi.Output.secret(pulumi.Output.all(cert, key, password).apply(build))
