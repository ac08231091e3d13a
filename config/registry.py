"""`lxdha:registry`: the HA registry's settings, validated before anything is created.

Pure: takes the raw config mapping and returns settings or raises ConfigError naming the key and
the fix. Secret values are not read here (see `registry_secrets`); only which source holds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config import vip_group
from config.checks import absolute_path_problem, s3_bucket_problem, url_host, url_problem, word_problem
from config.containers import ansible_dir
from config.section import Section, section_of
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


def _port(section: Section) -> int:
    """The registry's TCP port: free on the replicas, and one an unprivileged server may bind."""
    port = section.whole("port", 5000, 1, 65535, "use the registry's TCP port, e.g. 5000")
    if port in TAKEN_PORTS:
        raise section.fail("port", f"{port} is already in use on every replica: it is {TAKEN_PORTS[port]}",
                           "pick another port, e.g. 5000")
    if port < FIRST_UNPRIVILEGED_PORT:
        raise section.fail("port", f"{port} is a privileged port: the registry runs as an unprivileged user and may "
                           f"not bind ports below {FIRST_UNPRIVILEGED_PORT}", "use a port from 1024 up, e.g. 5000")
    return port


def _checked_text(s3: Section, field: str, default: str | None, problem_of: Callable[[str], str | None],
                  fix: str) -> str:
    """An `s3.<field>` string that passes `problem_of` (the S3 server's or the registry's rule)."""
    value = s3.text(field, default)
    problem = problem_of(value)
    if problem:
        raise s3.fail(field, problem, fix)
    return value


def _s3(registry: Section) -> S3Settings:
    if registry.section("s3", S3_KNOWN) is None:
        raise registry.fail("s3", "is missing", "set s3.endpoint, s3.bucket and the S3 keys; see docs/config.md "
                            "(registry)")
    s3 = registry.child("s3", S3_KNOWN)
    endpoint = s3.text("endpoint") if s3.raw.get("endpoint") else ""
    problem = url_problem(endpoint, path_allowed=False)
    if problem:
        raise s3.fail("endpoint", problem, "give the S3 endpoint as http(s)://host:port, e.g. http://10.0.0.55:9000")
    if not s3.raw.get("bucket"):
        raise s3.fail("bucket", "is not set", "name the bucket that holds the blobs")
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


def _server(registry: Section, mirror_url: str | None) -> ServerSettings:
    server = registry.child("server", SERVER_KNOWN)
    source = server.raw.get("source", "artifact")
    if source not in SERVER_SOURCES:
        raise server.fail("source", f"{source!r} is not a server source",
                          "use artifact (the pinned build from the mirror) or distro (the distribution's "
                          "docker-registry)")
    version = str(server.raw.get("version", DEFAULT_SERVER_VERSION))
    if not re.fullmatch(r"v\d+\.\d+\.\d+", version):
        raise server.fail("version", f"{version!r} is not a release version", "write it as vMAJOR.MINOR.PATCH, "
                          f"e.g. {DEFAULT_SERVER_VERSION}")
    if "sha256" in server.raw:
        sha256 = str(server.raw["sha256"]).lower()
    elif version == DEFAULT_SERVER_VERSION:
        sha256 = DEFAULT_SERVER_SHA256
    else:
        raise server.fail("sha256", f"is not set, and the default checksum belongs to {DEFAULT_SERVER_VERSION}, "
                          f"not {version}", "set the sha256 that `python -m toolchain.registry_artifact build` "
                          "prints for the build you published")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise server.fail("sha256", f"{server.raw.get('sha256')!r} is not a SHA-256 (64 hex digits)",
                          "copy the sha256 printed by `python -m toolchain.registry_artifact build`")
    url = server.raw.get("url") or (artifact_url(mirror_url, version) if mirror_url else "")
    problem = url_problem(url) if url or source == "artifact" else None
    if problem:
        raise server.fail("url", problem if url else "is not set and there is no lxdha:mirror.url to derive it "
                          "from", "set lxdha:mirror.url, or the http(s) URL the build is served at")
    return ServerSettings(source, version, sha256, str(url))


def registry_settings(raw: dict[str, Any], mirror_url: str | None = None, key: str = KEY) -> RegistrySettings:
    """Settings from the raw registry section at `key` (the stack's `lxdha:registry`, or a component's
    inputs), or a ConfigError naming the bad key. `mirror_url` gives the default URL of the registry build."""
    registry = section_of(raw, key, KNOWN, "see docs/config.md (registry)")
    registry.section("tls", TLS_KNOWN)  # read with the secrets (registry_secrets); its keys are checked here
    group = vip_group_settings(raw, key, default_prefix="registry", default_vrid=51)
    port = _port(registry)
    return RegistrySettings(group, port, _s3(registry), ansible_dir(registry, PLAYBOOK), _server(registry, mirror_url))


def registry_endpoints(settings: RegistrySettings) -> dict[str, str]:
    """The registry's own endpoints (setting -> host), which its VIP must not be."""
    return {settings.vip_group.setting("s3.endpoint"): url_host(settings.s3.endpoint)}
