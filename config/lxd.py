"""The `lxd:*` connection settings, read the same way by everyone who connects: the native provider
(Configure), the dynamic providers (configure), and the operations commands (stack config).

They are read at every run from the stack's current config, never frozen into resource state: after
the cluster is re-created or its certificate rotated, updating the stack config is enough.
Each value may be given inline or as a file (`lxd:clientKey` or `lxd:clientKeyFile`); relative file
paths are taken from the project directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cluster.connection import LxdEndpoint, certificate_fingerprint, normalize_fingerprint, validate_endpoint
from cluster.errors import ConfigError
from config.files import read_config_file

NAMESPACE = "lxd"
KEYS = ("remote", "serverFingerprint", "serverCertFile", "clientCert", "clientCertFile", "clientKey",
        "clientKeyFile", "trustPassword", "trustPasswordFile", "timeoutS")
SECRET_KEYS = ("clientKey", "trustPassword")
DEFAULT_TIMEOUT_S = 60.0

Getter = Callable[[str], object]  # short key ("remote") -> value or None


def _key(short: str) -> str:
    return f"{NAMESPACE}:{short}"


def _inline_or_file(get: Getter, short: str, base_dir: Path) -> str | None:
    inline = get(short)
    if inline not in (None, ""):
        return str(inline)
    path = get(f"{short}File")
    if path in (None, ""):
        return None
    return read_config_file(_key(f"{short}File"), str(path), base_dir)


def _fingerprint(get: Getter, base_dir: Path) -> str:
    pinned = get("serverFingerprint")
    if pinned:
        return normalize_fingerprint(str(pinned))
    cert_path = get("serverCertFile")
    if cert_path:
        pem = read_config_file(_key("serverCertFile"), str(cert_path), base_dir)
        try:
            return certificate_fingerprint(pem)
        except ValueError as error:
            raise ConfigError(_key("serverCertFile"), f"{cert_path} is not a PEM certificate",
                              "point it at the cluster's certificate (cluster.crt)") from error
    raise ConfigError(_key("serverFingerprint"), "no server certificate is pinned",
                      "set lxd:serverFingerprint (sha256 from `lxc info`) or lxd:serverCertFile")


def _timeout(get: Getter) -> float:
    raw = get("timeoutS")
    if raw in (None, ""):
        return DEFAULT_TIMEOUT_S
    try:
        value = float(str(raw))
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600:
        raise ConfigError(_key("timeoutS"), f"{raw!r} is not a number of seconds from 1 to 3600",
                          "use e.g. 60 (the per-request timeout)")
    return value


def endpoint_from_settings(get: Getter, base_dir: Path, where: str = "the stack config") -> LxdEndpoint:
    """The validated endpoint, or a ConfigError naming the first `lxd:*` key at fault and the fix."""
    url = get("remote")
    if not url:
        raise ConfigError(_key("remote"), f"is not set in {where}", "set lxd:remote to https://<load balancer>:8443")
    cert = _inline_or_file(get, "clientCert", base_dir)
    if cert is None:
        raise ConfigError(_key("clientCert"), f"is not set in {where}",
                          "set lxd:clientCert (PEM) or lxd:clientCertFile")
    key = _inline_or_file(get, "clientKey", base_dir)
    if key is None:
        raise ConfigError(_key("clientKey"), f"is not set in {where}",
                          "set lxd:clientKey with `pulumi config set --secret`, or lxd:clientKeyFile")
    endpoint = LxdEndpoint(str(url), _fingerprint(get, base_dir), cert, key,
                           _inline_or_file(get, "trustPassword", base_dir) or "", _timeout(get))
    problems = validate_endpoint(endpoint)
    if problems:
        field_name = problems[0].split(" ", 1)[0]
        raise ConfigError(field_name, "; ".join(p.split(" ", 1)[1] for p in problems[:1]), f"correct {where}")
    return endpoint


def prefixed(values: dict[str, object]) -> Getter:
    """A getter over `lxd:remote`-style keys (stack config, dynamic provider config)."""
    return lambda short: values.get(_key(short))
