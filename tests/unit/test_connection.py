"""Connection settings are validated and named before any request is made; a long-lived process keeps
one connection per endpoint."""

from __future__ import annotations

import socket

import pylxd
import pytest

from cluster.connection import (
    ClusterConnection,
    LxdEndpoint,
    SharedConnections,
    certificate_fingerprint,
    ensure_trusted,
    normalize_fingerprint,
    reach_problem,
    validate_endpoint,
)
from cluster.errors import ConnectionSetupError
from tests.support.certs import self_signed_client_cert
from tests.support.fake_lxd import URL, FakeLxd


def test_fingerprint_spellings_normalize() -> None:
    assert normalize_fingerprint("AB:cd:EF") == "abcdef"


def test_certificate_fingerprint_is_sha256_hex() -> None:
    cert, _ = self_signed_client_cert("x")
    assert len(certificate_fingerprint(cert)) == 64


def test_validation_names_each_bad_setting() -> None:
    endpoint = LxdEndpoint("http://lb", "xyz", "nope", "nope")
    problems = " ".join(validate_endpoint(endpoint))
    for key in ("lxd:remote", "lxd:serverFingerprint", "lxd:clientCert", "lxd:clientKey"):
        assert key in problems


def test_a_good_endpoint_round_trips_through_provider_inputs() -> None:
    cert, key = self_signed_client_cert("x")
    endpoint = LxdEndpoint("https://10.0.0.100:8443", "a" * 64, cert, key, "pw")
    assert validate_endpoint(endpoint) == []
    assert LxdEndpoint.from_inputs(endpoint.to_inputs()) == endpoint


def test_an_unreachable_remote_fails_on_the_connect_timeout_not_the_request_timeout() -> None:
    """The bad-input row "unreachable remote" took 157 s: every connect attempt waited the full 60 s
    request timeout. Connecting is bounded separately; a slow answer still gets `timeout_s`."""
    endpoint = LxdEndpoint("https://10.91.0.29:8443", "ab" * 32, "cert", "key")
    assert endpoint.request_timeouts() == (10.0, 60.0)
    assert LxdEndpoint("https://x:8443", "ab" * 32, "cert", "key", timeout_s=5).request_timeouts() == (5, 5)


def test_a_long_lived_process_connects_once_per_endpoint_and_retries_a_failed_connect(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The dynamic-provider host reuses its connection (a connect cost ~100 ms on the lab, a request on a
    kept one ~7 ms); a connect that failed is not kept, so the next call tries again."""
    connects: list[str] = []
    failing = {"https://down:8443"}

    def connect(self: ClusterConnection) -> object:
        connects.append(self.endpoint.url)
        if self.endpoint.url in failing:
            raise ConnectionSetupError("lxd:remote", "cannot reach it", "check it")
        return object()

    monkeypatch.setattr(ClusterConnection, "_connect", connect)
    shared = SharedConnections()
    one, other = (LxdEndpoint(url, "ab" * 32, "cert", "key") for url in ("https://a:8443", "https://b:8443"))
    assert shared.client(one) is shared.client(one)
    assert shared.client(other) is not shared.client(one)
    assert connects == ["https://a:8443", "https://b:8443"]
    down = LxdEndpoint("https://down:8443", "ab" * 32, "cert", "key")
    for _ in range(2):
        with pytest.raises(ConnectionSetupError):
            shared.client(down)
    assert connects.count("https://down:8443") == 2
    shared.close_all()
    assert shared.client(one) is not None and connects.count("https://a:8443") == 2  # closed: connects again


def test_the_programs_reach_check_passes_a_listener_and_names_a_closed_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert reach_problem(f"https://127.0.0.1:{listener.getsockname()[1]}") is None
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    problem = reach_problem(f"https://127.0.0.1:{port}", attempts=2, pause_s=0)
    assert problem == f"cannot reach 127.0.0.1:{port} (Connection refused; 2 attempts)"


def _untrusted(server: str, secret: str) -> tuple[FakeLxd, pylxd.Client]:
    fake = FakeLxd.cluster(server=server)
    fake.trusted, fake.trust_secret = False, secret
    return fake, fake.client()


def _endpoint(secret: str) -> LxdEndpoint:
    cert, key = self_signed_client_cert("x")
    return LxdEndpoint(URL, "a" * 64, cert, key, secret)


@pytest.mark.parametrize(("server", "field"), [("lxd", "password"), ("incus", "trust_token")])
def test_an_untrusted_certificate_is_added_with_the_secret_in_the_familys_field(server: str, field: str) -> None:
    """LXD 5.0 takes a trust password or token in `password`; Incus 6.0 only a token, in `trust_token`
    (pylxd sends `password` to both)."""
    fake, client = _untrusted(server, "s3cret")
    ensure_trusted(client, _endpoint("s3cret"))
    assert client.trusted and client.host_info["environment"]["server"] == server
    assert fake.count("POST", "/certificates") == 1


def test_a_refused_secret_names_the_setting_and_what_the_server_takes() -> None:
    _fake, client = _untrusted("incus", "the-token")
    with pytest.raises(ConnectionSetupError) as refused:
        ensure_trusted(client, _endpoint("a-password"))
    assert refused.value.subject == "lxd:trustPassword" and "refused the trust token" in refused.value.problem
    assert "incus config trust add" in refused.value.fix and "no trust password" in refused.value.fix
    _fake, client = _untrusted("lxd", "pw")
    with pytest.raises(ConnectionSetupError) as refused:
        ensure_trusted(client, _endpoint("wrong"))
    assert "refused the trust password or token" in refused.value.problem and "core.trust_password" in \
        refused.value.fix


def test_without_a_secret_the_fix_is_the_familys_trust_command() -> None:
    _fake, client = _untrusted("incus", "")
    with pytest.raises(ConnectionSetupError) as untrusted:
        ensure_trusted(client, _endpoint(""))
    assert untrusted.value.subject == "lxd:clientCert"
    assert "`incus config trust add-certificate <cert>`" in untrusted.value.fix
