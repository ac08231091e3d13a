"""`lxdha:registry`: the HA registry's settings, validated before anything is created.

Pure: takes the raw config mapping and returns settings or raises ConfigError naming the key and
the fix. Secret values are not read here (see `registry_secrets`); only which source holds them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.errors import ConfigError
from cluster.names import instance_name_problem
from config.addresses import VIP_FIX, VIP_SETTING, Resolver, endpoint_holder, resolve_ipv4
from config.checks import url_host, url_problem
from config.containers import DEFAULT_ANSIBLE_DIR

KEY = "lxdha:registry"
# what the registry role installs from the distribution, baked into the base image when baking is on
# (the role then skips it); the pinned server build is a file from the mirror, not a package
PACKAGES = ("keepalived",)
DISTRO_SERVER_PACKAGE = "docker-registry"
PLAYBOOK = "registry.yml"
KNOWN = {"replicas", "prefix", "group", "allowReplicasOverMembers", "vip", "network", "vrid", "advertIntervalS",
         "vrrpVersion", "s3", "usersFile", "tls", "port", "httpSecretFile",
         "vrrpPasswordFile", "ansibleDir", "server"}
MAX_REPLICAS = 9
MAX_TEXT = 512  # longest plain string setting we accept; anything bigger is a paste mistake

# The registry server the replicas run by default: distribution v3 built from the module pinned in
# toolchain/go/registry/go.mod (`python -m toolchain.registry_artifact build` prints both values). The
# checksum is the trust anchor: a replica installs the file from the mirror only if it matches.
DEFAULT_SERVER_VERSION = "v3.1.2"
DEFAULT_SERVER_SHA256 = "7e21405a20c4df028f48e80d25f539f88be6a0b15eff585070515c8b1adda6df"
SERVER_SOURCES = ("artifact", "distro")  # the pinned build from the mirror | the distro's docker-registry (2.8)
ARTIFACT_NAME = "registry-linux-amd64"
SERVER_KNOWN = {"source", "version", "sha256", "url"}


@dataclass(frozen=True)
class VrrpSettings:
    vip: str
    prefix_len: int
    vrid: int
    advert_interval_s: float
    version: int

    @property
    def subnet(self) -> str:
        """The VIP's segment, e.g. 10.91.0.0/24 (a VRID is unique on it)."""
        return str(ipaddress.IPv4Interface(f"{self.vip}/{self.prefix_len}").network)


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
    replicas: int
    prefix: str
    group: str
    allow_replicas_over_members: bool
    port: int
    vrrp: VrrpSettings
    s3: S3Settings
    ansible_dir: str
    server: ServerSettings

    def names(self) -> list[str]:
        return [f"{self.prefix}-{index}" for index in range(self.replicas)]

    def packages(self) -> tuple[str, ...]:
        """The distribution packages the replicas need (what a baked image carries for them)."""
        return (*PACKAGES, DISTRO_SERVER_PACKAGE) if self.server.source == "distro" else PACKAGES


def _fail(field: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{KEY}.{field}", problem, fix)


def _text(raw: dict[str, Any], field: str, default: str | None = None) -> str:
    value = raw.get(field, default)
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


def _vrrp(raw: dict[str, Any]) -> VrrpSettings:
    network = raw.get("network")
    if not isinstance(network, dict) or not network.get("subnet"):
        raise _fail("network.subnet", "is not set", "set the containers' subnet, e.g. 10.0.0.0/24, so the VIP can "
                    "be checked against it")
    try:
        subnet = ipaddress.IPv4Network(str(network["subnet"]), strict=True)
    except ValueError as error:
        raise _fail("network.subnet", f"{network['subnet']!r} is not an IPv4 network ({error})",
                    "write it as address/prefix, e.g. 10.0.0.0/24") from None
    vip_text = _text(raw, "vip")
    try:
        vip = ipaddress.IPv4Address(vip_text)
    except ValueError:
        raise _fail("vip", f"{vip_text!r} is not an IPv4 address", "use a free address of the subnet") from None
    if vip not in subnet or vip in (subnet.network_address, subnet.broadcast_address):
        raise _fail("vip", f"{vip} is outside the subnet {subnet}", f"pick a free host address inside {subnet}")
    dhcp = network.get("dhcpRange")
    if dhcp:
        try:
            low, high = (ipaddress.IPv4Address(str(end)) for end in dhcp)
        except ValueError:
            raise _fail("network.dhcpRange", f"{dhcp!r} is not [first, last] IPv4 addresses",
                        "write it as [10.0.0.100, 10.0.0.199]") from None
        if low <= vip <= high:
            raise _fail("vip", f"{vip} is inside the DHCP range {low}-{high}: a container could be leased it",
                        "pick an address outside the DHCP range (reserve one for services)")
    version = _whole(raw, "vrrpVersion", 3, 2, 3, "use 3 (sub-second adverts) or 2")
    interval = raw.get("advertIntervalS", 0.3)
    if not isinstance(interval, (int, float)) or isinstance(interval, bool) or not 0.01 <= interval <= 40:
        raise _fail("advertIntervalS", f"{interval!r} is not a number of seconds from 0.01 to 40",
                    "use 0.3 for a ~1 s failover, 1 for keepalived's default")
    if version == 2 and float(interval) != int(interval):
        raise _fail("advertIntervalS", f"VRRPv2 adverts are whole seconds, not {interval}",
                    "use vrrpVersion 3 for sub-second adverts, or a whole number of seconds")
    vrid = _whole(raw, "vrid", 51, 1, 255, "pick a VRRP router id from 1 to 255, unique on the segment")
    return VrrpSettings(str(vip), subnet.prefixlen, vrid, float(interval), version)


def _s3(raw: dict[str, Any]) -> S3Settings:
    s3 = raw.get("s3")
    if not isinstance(s3, dict):
        raise _fail("s3", "is missing", "set s3.endpoint, s3.bucket and the S3 keys; see docs/config.md (registry)")
    endpoint = _text(s3, "endpoint") if s3.get("endpoint") else None
    problem = url_problem(endpoint, path_allowed=False)
    if problem:
        raise _fail("s3.endpoint", problem, "give the S3 endpoint as http(s)://host:port, e.g. http://10.0.0.55:9000")
    bucket = s3.get("bucket")
    if not bucket:
        raise _fail("s3.bucket", "is not set", "name the bucket that holds the blobs")
    return S3Settings(endpoint.rstrip("/"), str(s3.get("region", "us-east-1")), str(bucket),
                      str(s3.get("rootDirectory", "/registry")))


def artifact_url(mirror_url: str, version: str) -> str:
    """Where a site's mirror serves the registry build: one path under the mirror's base URL (the
    publish command and the replicas' default both derive it from here)."""
    return f"{mirror_url.rstrip('/')}/artifacts/distribution-registry/{version}/{ARTIFACT_NAME}"


def _server(raw: dict[str, Any], mirror_url: str | None) -> ServerSettings:
    server = raw.get("server", {})
    if not isinstance(server, dict):
        raise _fail("server", f"{server!r} is not a mapping", "write it as {source, version, sha256, url}")
    unknown = sorted(set(server) - SERVER_KNOWN)
    if unknown:
        raise _fail(f"server.{unknown[0]}", "is not a known setting", f"use one of {', '.join(sorted(SERVER_KNOWN))}")
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
    if source == "artifact" and not str(url).startswith(("http://", "https://")):
        raise _fail("server.url", f"{url!r} is not an http(s) URL" if url else "is not set and there is no "
                    "lxdha:mirror.url to derive it from", "set lxdha:mirror.url, or the URL the build is served at")
    return ServerSettings(source, version, sha256, str(url))


def registry_settings(raw: dict[str, Any], mirror_url: str | None = None) -> RegistrySettings:
    """Settings from the raw `lxdha:registry` mapping, or a ConfigError naming the bad key.
    `mirror_url` (lxdha:mirror.url) gives the default URL of the registry build."""
    if not isinstance(raw, dict):
        raise ConfigError(KEY, "is not a mapping", "see docs/config.md (registry)")
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise _fail(unknown[0], "is not a known setting", f"use one of {', '.join(sorted(KNOWN))}")
    replicas = raw.get("replicas", 2)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 2:
        raise _fail("replicas", f"{replicas!r} replicas is not highly available", "use 2 or more replicas")
    if replicas > MAX_REPLICAS:
        raise _fail("replicas", f"{replicas} is more than {MAX_REPLICAS}", "VRRP peers beyond a handful add "
                    "nothing; use fewer replicas")
    prefix = _text(raw, "prefix", "registry")
    problem = instance_name_problem(f"{prefix}-{replicas - 1}")
    if problem:
        raise _fail("prefix", problem, "use a short prefix of letters, digits and '-'")
    group = _text(raw, "group", prefix)
    if instance_name_problem(group):
        raise _fail("group", f"{group!r} is not a valid group name", "use letters, digits and '-'")
    allow = raw.get("allowReplicasOverMembers", False)
    if not isinstance(allow, bool):
        raise _fail("allowReplicasOverMembers", f"{allow!r} is not true/false", "set true or false")
    port = _whole(raw, "port", 5000, 1, 65535, "use the registry's TCP port, e.g. 5000")
    ansible_dir = Path(str(raw.get("ansibleDir", DEFAULT_ANSIBLE_DIR))).expanduser().resolve()
    if not (ansible_dir / PLAYBOOK).is_file():
        raise _fail("ansibleDir", f"{ansible_dir} has no {PLAYBOOK}", "point it at a copy of the project's ansible/")
    return RegistrySettings(replicas, prefix, group, allow, port, _vrrp(raw), _s3(raw), str(ansible_dir),
                            _server(raw, mirror_url))


def check_vip_is_not_an_endpoint(settings: RegistrySettings, endpoints: Mapping[str, str],
                                 resolve: Resolver = resolve_ipv4) -> None:
    """Refuses a VIP that is one of the stack's own endpoints (setting -> host), naming which.

    The S3 endpoint is the registry's own; the caller adds the others (lxd:remote, image remote, mirror).
    What the cluster knows (members, instances, other stacks' claims) is checked at preview by the claim.
    """
    holder = endpoint_holder(settings.vrrp.vip, {**endpoints, f"{KEY}.s3.endpoint": url_host(settings.s3.endpoint)},
                             resolve)
    if holder:
        raise ConfigError(VIP_SETTING, f"{settings.vrrp.vip} is already taken by {holder}", VIP_FIX)
