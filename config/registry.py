"""`lxdha:registry`: the HA registry's settings, validated before anything is created.

Pure: takes the raw config mapping and returns settings or raises ConfigError naming the key and
the fix. Secret values are not read here (see `registry_secrets`); only which source holds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.errors import ConfigError
from config import vip_group
from config.checks import (
    absolute_path_problem,
    check_known_keys,
    s3_bucket_problem,
    url_host,
    url_problem,
    word_problem,
)
from config.containers import DEFAULT_ANSIBLE_DIR
from config.vip_group import VipGroupSettings, VrrpSettings, vip_group_settings

KEY = "lxdha:registry"
# what the registry role installs from the distribution, baked into the base image when baking is on
# (the role then skips it); the pinned server build is a file from the mirror, not a package
PACKAGES = ("keepalived",)
DISTRO_SERVER_PACKAGE = "docker-registry"
PLAYBOOK = "registry.yml"
KNOWN = (*vip_group.KNOWN, "ansibleDir", "httpSecretFile", "port", "s3", "server", "tls", "usersFile")
S3_KNOWN = ("endpoint", "region", "bucket", "rootDirectory", "accessKeyFile", "secretKeyFile")
TLS_KNOWN = ("cert", "certFile", "keyFile")
MAX_TEXT = vip_group.MAX_TEXT

# The registry server the replicas run by default: distribution v3 built from the module pinned in
# toolchain/go/registry/go.mod (`python -m toolchain.registry_artifact build` prints both values). The
# checksum is the trust anchor: a replica installs the file from the mirror only if it matches.
DEFAULT_SERVER_VERSION = "v3.1.2"
DEFAULT_SERVER_SHA256 = "7e21405a20c4df028f48e80d25f539f88be6a0b15eff585070515c8b1adda6df"
SERVER_SOURCES = ("artifact", "distro")  # the pinned build from the mirror | the distro's docker-registry (2.8)
ARTIFACT_NAME = "registry-linux-amd64"
SERVER_KNOWN = ("sha256", "source", "url", "version")

# TCP ports a replica's own daemons hold, so the registry cannot listen on them: sshd runs in every
# container (the bootstrap starts it; Ansible and operators log in on it), and the registry's debug
# listener serves keepalived's health check (registry_debug_port in ansible/roles/registry). keepalived
# itself speaks VRRP (IP protocol 112) and holds no TCP port.
SSH_PORT = 22
REGISTRY_DEBUG_PORT = 5001
TAKEN_PORTS = {
    SSH_PORT: "sshd's, in every container (Ansible and operators log in on it)",
    REGISTRY_DEBUG_PORT: f"the registry's own debug listener (127.0.0.1:{REGISTRY_DEBUG_PORT}, keepalived's health "
                         "check)",
}
# Both server sources run as an unprivileged user (distribution-registry, or the package's docker-registry),
# and a container's own network namespace keeps net.ipv4.ip_unprivileged_port_start at its default.
FIRST_UNPRIVILEGED_PORT = 1024


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    region: str
    bucket: str
    root_directory: str


@dataclass(frozen=True)
class ServerSettings:
    """Which registry server the replicas run: the pinned build (a file from the site's mirror,
    checked against `sha256`), or the distribution's own `docker-registry` package (2.8)."""

    source: str
    version: str
    sha256: str
    url: str


@dataclass(frozen=True)
class RegistrySettings:
    vip_group: VipGroupSettings
    port: int
    s3: S3Settings
    ansible_dir: str
    server: ServerSettings

    @property
    def vrrp(self) -> VrrpSettings:
        return self.vip_group.vrrp

    def names(self) -> list[str]:
        return self.vip_group.names()

    def packages(self) -> tuple[str, ...]:
        """The distribution packages the replicas need (what a baked image carries for them)."""
        return (*PACKAGES, DISTRO_SERVER_PACKAGE) if self.server.source == "distro" else PACKAGES


def _fail(field: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{KEY}.{field}", problem, fix)


def _text(raw: dict[str, Any], field: str, default: str | None = None, where: str = "") -> str:
    """A plain string setting; `where` is the section it sits in (e.g. "s3."), for the key in messages."""
    value = raw.get(field, default)
    field = f"{where}{field}"
    if value is None or value == "":
        raise _fail(field, "is not set", f"set {KEY}.{field}")
    value = str(value)
    if len(value) > MAX_TEXT:
        raise _fail(field, f"is {len(value)} characters long (limit {MAX_TEXT})", "check for a pasted file or key")
    return value


def _whole(raw: dict[str, Any], field: str, default: int, low: int, high: int, fix: str) -> int:
    value = raw.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(field, f"{value!r} is not a whole number from {low} to {high}", fix)
    return value


def _section(raw: dict[str, Any], field: str, known: tuple[str, ...]) -> dict[str, Any] | None:
    """The mapping under `field` (None when unset), refusing settings it does not know."""
    section = raw.get(field)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise _fail(field, f"{str(section)[:60]!r} is not a mapping", f"write it as {{{', '.join(known)}}}")
    check_known_keys(section, known, f"{KEY}.{field}")
    return section


def _port(raw: dict[str, Any]) -> int:
    """The registry's TCP port: free on the replicas, and one an unprivileged server may bind."""
    port = _whole(raw, "port", 5000, 1, 65535, "use the registry's TCP port, e.g. 5000")
    if port in TAKEN_PORTS:
        raise _fail("port", f"{port} is already in use on every replica: it is {TAKEN_PORTS[port]}",
                    "pick another port, e.g. 5000")
    if port < FIRST_UNPRIVILEGED_PORT:
        raise _fail("port", f"{port} is a privileged port: the registry runs as an unprivileged user and may not "
                    f"bind ports below {FIRST_UNPRIVILEGED_PORT}", "use a port from 1024 up, e.g. 5000")
    return port


def _checked_text(s3: dict[str, Any], field: str, default: str | None, problem_of: Callable[[str], str | None],
                  fix: str) -> str:
    """An `s3.<field>` string that passes `problem_of` (the S3 server's or the registry's rule)."""
    value = _text(s3, field, default, where="s3.")
    problem = problem_of(value)
    if problem:
        raise _fail(f"s3.{field}", problem, fix)
    return value


def _s3(raw: dict[str, Any]) -> S3Settings:
    s3 = _section(raw, "s3", S3_KNOWN)
    if s3 is None:
        raise _fail("s3", "is missing", "set s3.endpoint, s3.bucket and the S3 keys; see docs/config.md (registry)")
    endpoint = _text(s3, "endpoint", where="s3.") if s3.get("endpoint") else ""
    problem = url_problem(endpoint, path_allowed=False)
    if problem:
        raise _fail("s3.endpoint", problem, "give the S3 endpoint as http(s)://host:port, e.g. http://10.0.0.55:9000")
    if not s3.get("bucket"):
        raise _fail("s3.bucket", "is not set", "name the bucket that holds the blobs")
    bucket = _checked_text(s3, "bucket", None, s3_bucket_problem, "name the bucket as S3 allows, e.g. registry")
    region = _checked_text(s3, "region", "us-east-1", word_problem,
                           "give the region the S3 server signs for, e.g. us-east-1 (MinIO's default)")
    root = _checked_text(s3, "rootDirectory", "/registry", absolute_path_problem,
                         "give the key prefix of the registry's blobs as a clean absolute path, e.g. /registry")
    return S3Settings(endpoint.rstrip("/"), region, bucket, root)


def artifact_url(mirror_url: str, version: str) -> str:
    """Where a site's mirror serves the registry build: one path under the mirror's base URL (the
    publish command and the replicas' default both derive it from here)."""
    return f"{mirror_url.rstrip('/')}/artifacts/distribution-registry/{version}/{ARTIFACT_NAME}"


def _server(raw: dict[str, Any], mirror_url: str | None) -> ServerSettings:
    server = _section(raw, "server", SERVER_KNOWN) or {}
    source = server.get("source", "artifact")
    if source not in SERVER_SOURCES:
        raise _fail("server.source", f"{source!r} is not a server source",
                    "use artifact (the pinned build from the mirror) or distro (the distribution's docker-registry)")
    version = str(server.get("version", DEFAULT_SERVER_VERSION))
    if not re.fullmatch(r"v\d+\.\d+\.\d+", version):
        raise _fail("server.version", f"{version!r} is not a release version", "write it as vMAJOR.MINOR.PATCH, "
                    f"e.g. {DEFAULT_SERVER_VERSION}")
    if "sha256" in server:
        sha256 = str(server["sha256"]).lower()
    elif version == DEFAULT_SERVER_VERSION:
        sha256 = DEFAULT_SERVER_SHA256
    else:
        raise _fail("server.sha256", f"is not set, and the default checksum belongs to {DEFAULT_SERVER_VERSION}, "
                    f"not {version}", "set the sha256 that `python -m toolchain.registry_artifact build` prints "
                    "for the build you published")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise _fail("server.sha256", f"{server.get('sha256')!r} is not a SHA-256 (64 hex digits)",
                    "copy the sha256 printed by `python -m toolchain.registry_artifact build`")
    url = server.get("url") or (artifact_url(mirror_url, version) if mirror_url else "")
    problem = url_problem(url) if url or source == "artifact" else None
    if problem:
        raise _fail("server.url", problem if url else "is not set and there is no lxdha:mirror.url to derive it "
                    "from", "set lxdha:mirror.url, or the http(s) URL the build is served at")
    return ServerSettings(source, version, sha256, str(url))


def registry_settings(raw: dict[str, Any], mirror_url: str | None = None) -> RegistrySettings:
    """Settings from the raw `lxdha:registry` mapping, or a ConfigError naming the bad key.
    `mirror_url` (lxdha:mirror.url) gives the default URL of the registry build."""
    if not isinstance(raw, dict):
        raise ConfigError(KEY, "is not a mapping", "see docs/config.md (registry)")
    check_known_keys(raw, KNOWN, KEY)
    _section(raw, "tls", TLS_KNOWN)  # read with the secrets (registry_secrets); its keys are checked here
    group = vip_group_settings(raw, KEY, default_prefix="registry", default_vrid=51)
    port = _port(raw)
    ansible_dir = Path(str(raw.get("ansibleDir", DEFAULT_ANSIBLE_DIR))).expanduser().resolve()
    if not (ansible_dir / PLAYBOOK).is_file():
        raise _fail("ansibleDir", f"{ansible_dir} has no {PLAYBOOK}", "point it at a copy of the project's ansible/")
    return RegistrySettings(group, port, _s3(raw), str(ansible_dir), _server(raw, mirror_url))


def registry_endpoints(settings: RegistrySettings) -> dict[str, str]:
    """The registry's own endpoints (setting -> host), which its VIP must not be."""
    return {f"{KEY}.s3.endpoint": url_host(settings.s3.endpoint)}
