"""A pylxd client to the cluster's remote, with the server certificate pinned by fingerprint.

The remote is normally a TCP load balancer in front of every member, so the certificate is the
cluster's, whose names never match the balancer's address: we pin its SHA-256 fingerprint instead
of trusting a CA or the first certificate we see.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pylxd
import requests
from pylxd.exceptions import ClientConnectionFailed, LXDAPIException
from requests.adapters import HTTPAdapter

from cluster.errors import ConnectionSetupError, ProjectMissing
from cluster.operations import get_or_none
from cluster.private_dirs import private_dir
from cluster.recent_reads import RecentReads
from cluster.retry import with_retries
from cluster.server_family import server_family

FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")
RECENT_READ_S = 2.0  # how long one listing answers the reads that follow it (a refresh's burst)
POOL_SIZE = 32  # kept-alive connections: one shared client serves the native provider's worker threads
DEFAULT_PROJECT = "default"  # the LXD project a request without `?project=` goes to


def normalize_fingerprint(value: str) -> str:
    """Accept 'AB:CD:..' or 'abcd..' spellings of a SHA-256 fingerprint."""
    return value.replace(":", "").strip().lower()


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 fingerprint (hex) of a PEM certificate, as `lxc info` prints it."""
    der = ssl.PEM_cert_to_DER_cert(pem)
    return hashlib.sha256(der).hexdigest()


# A TCP connect to the cluster's load balancer takes milliseconds when it is there; an unreachable remote
# must fail within a few attempts of this, not of the (longer) time LXD may take to answer a request.
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LxdEndpoint:
    """Everything needed to reach the cluster; plain data so dynamic providers can carry it."""

    url: str
    server_fingerprint: str
    client_cert_pem: str = field(repr=False)
    client_key_pem: str = field(repr=False)  # secret: never in a repr, a log line or an error
    trust_password: str = field(default="", repr=False)  # secret
    timeout_s: float = 60.0

    def request_timeouts(self) -> tuple[float, float]:
        """(connect, read) for requests: a dead address fails fast, a slow answer gets `timeout_s`."""
        return min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any]) -> LxdEndpoint:
        return cls(
            url=inputs["url"],
            server_fingerprint=normalize_fingerprint(inputs["server_fingerprint"]),
            client_cert_pem=inputs["client_cert_pem"],
            client_key_pem=inputs["client_key_pem"],
            trust_password=inputs.get("trust_password") or "",
            timeout_s=float(inputs.get("timeout_s") or 60.0),
        )

    def to_inputs(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "server_fingerprint": self.server_fingerprint,
            "client_cert_pem": self.client_cert_pem,
            "client_key_pem": self.client_key_pem,
            "trust_password": self.trust_password,
            "timeout_s": self.timeout_s,
        }


def validate_endpoint(endpoint: LxdEndpoint) -> list[str]:
    """Problems with the connection settings, each naming its config key; empty when usable."""
    problems = []
    parsed = urlparse(endpoint.url)
    if parsed.scheme != "https" or not parsed.hostname:
        problems.append(f"lxd:remote must be an https:// URL with a host, got {endpoint.url!r}")
    if not FINGERPRINT_RE.match(endpoint.server_fingerprint):
        problems.append("lxd:serverFingerprint must be the 64-hex-digit SHA-256 of the server certificate")
    if "BEGIN CERTIFICATE" not in endpoint.client_cert_pem:
        problems.append("lxd:clientCert must be a PEM certificate")
    if "PRIVATE KEY" not in endpoint.client_key_pem:
        problems.append("lxd:clientKey must be a PEM private key (set it with --secret)")
    return problems


class PinnedFingerprintAdapter(HTTPAdapter):
    """Accepts exactly one server certificate, identified by its SHA-256 fingerprint."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        super().__init__(pool_maxsize=POOL_SIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        kwargs["cert_reqs"] = ssl.CERT_NONE
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, False, cert)
        conn.assert_fingerprint = self._fingerprint

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None, cert: Any = None) -> Any:
        return super().get_connection_with_tls_context(request, False, proxies, cert)


def pinned_session(endpoint: LxdEndpoint, cert_path: str, key_path: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, and no CA bundle from the environment overriding the pin
    session.verify = False
    session.cert = (cert_path, key_path)
    session.mount("https://", PinnedFingerprintAdapter(endpoint.server_fingerprint))
    return session


REACH_ATTEMPTS = 4
REACH_PAUSE_S = 2.0


def reach_problem(url: str, attempts: int = REACH_ATTEMPTS, pause_s: float = REACH_PAUSE_S) -> str | None:
    """None once a TCP connection to the URL's host and port opens, else what stopped it (bounded like a
    provider's connect: ~30 s at most). The program looks once before it declares anything; without it
    an unreachable remote was found by one provider after another, each after its own retries (~160 s)."""
    parsed = urlparse(url)
    address = (parsed.hostname or "", parsed.port or 8443)
    reason = ""
    for attempt in range(attempts):
        try:
            with socket.create_connection(address, timeout=CONNECT_TIMEOUT_S / 2):
                return None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
        if attempt + 1 < attempts:
            time.sleep(pause_s)
    return f"cannot reach {address[0]}:{address[1]} ({reason}; {attempts} attempts)"


def _explain(endpoint: LxdEndpoint, error: Exception) -> ConnectionSetupError:
    text = str(error)
    if "fingerprint" in text.lower():
        return ConnectionSetupError(
            "lxd:serverFingerprint",
            f"the server at {endpoint.url} presents a different certificate than the pinned one",
            "check you are talking to the right cluster, then set lxd:serverFingerprint to the value of "
            "`lxc info | grep -i fingerprint` on a member (or the lab's lab.json)",
        )
    return ConnectionSetupError(
        "lxd:remote",
        f"cannot reach {endpoint.url}: {text}",
        "check the address/port of the load balancer and that at least one member is ONLINE",
    )


class ClusterConnection:
    """A trusted pylxd client for as long as the owner needs it (one command, or a provider process).

    The client certificate and key are written to a 0700 temporary directory (requests needs files)
    and removed by `close()`. The client is made on first use, so a provider that is configured but
    never asked to do anything never connects.
    """

    def __init__(self, endpoint: LxdEndpoint) -> None:
        self.endpoint = endpoint
        self.recent_reads = RecentReads(RECENT_READ_S)  # one listing for a refresh's many reads
        self._lock = threading.Lock()
        self._client: pylxd.Client | None = None
        self._in_project: dict[str, pylxd.Client] = {}
        self._secrets_dir: tempfile.TemporaryDirectory[str] | None = None
        self._session: requests.Session | None = None

    def client(self, project: str = DEFAULT_PROJECT) -> pylxd.Client:
        """The trusted client; for another LXD project, one on the same session whose every request
        carries `?project=` (made once the project is seen to exist, else ProjectMissing)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            base, scoped = self._client, self._in_project.get(project)
        if project == DEFAULT_PROJECT:
            return base
        if scoped is None:
            if with_retries(lambda: get_or_none(base.api.projects[project]), f"read project {project}") is None:
                raise ProjectMissing(project)
            scoped = with_retries(lambda: self._new_client(project), f"connect to project {project}")
            with self._lock:
                scoped = self._in_project.setdefault(project, scoped)
        return scoped

    def _new_client(self, project: str | None = None) -> pylxd.Client:
        try:
            return pylxd.Client(endpoint=self.endpoint.url, session=self._session,
                                timeout=self.endpoint.request_timeouts(), project=project)
        except ClientConnectionFailed as error:
            raise requests.ConnectionError(str(error)) from error

    def _connect(self) -> pylxd.Client:
        endpoint = self.endpoint
        self._secrets_dir = private_dir("lxdha-client-")
        cert_path = os.path.join(self._secrets_dir.name, "client.crt")
        key_path = os.path.join(self._secrets_dir.name, "client.key")
        for path, content in ((cert_path, endpoint.client_cert_pem), (key_path, endpoint.client_key_pem)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
                handle.write(content)
        self._session = pinned_session(endpoint, cert_path, key_path)
        try:
            client = with_retries(self._new_client, f"connect to {endpoint.url}", attempts=4, deadline_s=30)
        except (requests.RequestException, OSError) as error:
            raise _explain(endpoint, error) from error
        ensure_trusted(client, endpoint)
        return client

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
            if self._secrets_dir is not None:
                self._secrets_dir.cleanup()
            self._client = self._session = self._secrets_dir = None
            self._in_project = {}


@contextlib.contextmanager
def lxd_client(endpoint: LxdEndpoint) -> Iterator[pylxd.Client]:
    """A trusted pylxd client for the lifetime of the block."""
    connection = ClusterConnection(endpoint)
    try:
        yield connection.client()
    finally:
        connection.close()


class SharedConnections:
    """One connection per endpoint for the life of a process that serves many calls (the dynamic-provider
    host): a connect with its TLS handshake and trust check costs ~100 ms against the lab, a request on a
    kept connection ~7 ms, and a no-op `pulumi up` makes a few dozen provider calls. A failed connect is
    not kept: the next call tries again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[LxdEndpoint, ClusterConnection] = {}

    def _connection(self, endpoint: LxdEndpoint) -> ClusterConnection:
        with self._lock:
            return self._connections.setdefault(endpoint, ClusterConnection(endpoint))

    def client(self, endpoint: LxdEndpoint) -> pylxd.Client:
        return self._connection(endpoint).client()

    def recent_reads(self, endpoint: LxdEndpoint) -> RecentReads:
        return self._connection(endpoint).recent_reads

    def close_all(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()


SHARED = SharedConnections()
atexit.register(SHARED.close_all)  # removes each connection's key directory when the process ends


@contextlib.contextmanager
def shared_client(endpoint: LxdEndpoint) -> Iterator[pylxd.Client]:
    """`lxd_client` for a long-lived process: the connection outlives the block, kept in SHARED."""
    yield SHARED.client(endpoint)


def ensure_trusted(client: pylxd.Client, endpoint: LxdEndpoint) -> None:
    """Adds our certificate to the server's trust store with the secret in lxd:trustPassword, when the server
    does not trust it yet. The secret goes in the field the server's family reads (LXD 5.0: `password`, a
    trust password or token; Incus 6.0: `trust_token`), which pylxd's authenticate() does not choose."""
    if client.trusted:
        return
    family = server_family(client)
    if not endpoint.trust_password:
        raise ConnectionSetupError(
            "lxd:clientCert",
            f"the client certificate is not trusted by {endpoint.url}",
            f"add it on a member with `{family.trust_cert_command}`, or set lxd:trustPassword (--secret) to "
            f"{family.trust_secret_fix}",
        )
    certificate = base64.b64encode(ssl.PEM_cert_to_DER_cert(endpoint.client_cert_pem)).decode()
    body = {"type": "client", "certificate": certificate, family.trust_field: endpoint.trust_password}
    try:
        client.api.certificates.post(json=body)
    except LXDAPIException as error:
        raise ConnectionSetupError(
            "lxd:trustPassword",
            f"the cluster refused the {family.trust_secret} ({error})",
            f"set lxd:trustPassword to {family.trust_secret_fix}",
        ) from error
    client.host_info = client.api.get().json()["metadata"]  # now as a trusted client sees it
    if not client.trusted:
        raise ConnectionSetupError("lxd:trustPassword", f"the {family.trust_secret} did not make the client trusted",
                                   f"set lxd:trustPassword to {family.trust_secret_fix}")


def local_client(socket_path: Path, timeout_s: float = 60.0) -> pylxd.Client:
    """A client of one daemon over its local unix socket (the lab administers its members and its image
    remote this way: no client certificate, no trust). Raises ClientConnectionFailed while the daemon
    does not answer."""
    if not socket_path.exists():
        raise ClientConnectionFailed(f"no LXD socket at {socket_path}")
    return pylxd.Client(endpoint=str(socket_path), timeout=timeout_s)


def local_ready(socket_path: Path) -> bool:
    """True once the daemon has finished starting (`/internal/ready`, what `lxd waitready` asks)."""
    try:
        client = local_client(socket_path, timeout_s=5)
        url = f"http+unix://{quote(str(socket_path), safe='')}/internal/ready"
        return client.api.session.get(url, timeout=5).status_code == 200
    except (ClientConnectionFailed, requests.RequestException, OSError):
        return False
