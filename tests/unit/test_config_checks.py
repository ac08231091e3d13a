"""Pure checks of typed-in values: URLs, OpenSSH keys, certificates, image names, mirror paths."""

from __future__ import annotations

import pytest

from config.checks import (
    alpine_release_problem,
    image_name_problem,
    key_pair_problem,
    private_key_problem,
    public_key_problem,
    server_certificate_problem,
    url_host,
    url_problem,
)
from lab.pki import issue_self_signed
from tests.support.certs import TEST_PUBLIC_KEY, ssh_key_pair


@pytest.mark.parametrize("url", ["http://10.0.0.55:9000", "https://mirror.example.org/debian", "http://[fd00::5]:80/",
                                 "https://images.lxd.canonical.com"])
def test_good_urls_pass(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(("url", "words"), [
    ("", "is not set"),
    ("http//10.0.0.55:9000", "does not start with http:// or https://"),
    ("ftp://10.0.0.55", "does not start with"),
    ("http:/10.0.0.55", "does not start with"),
    ("http://10.0.0.555:9000", "not a valid IPv4 address"),
    ("http://10.0.0:9000", "not a valid IPv4 address"),
    ("http://mirror_host:9000", "not a valid host name"),
    ("http://10.0.0.55:90x0", "invalid port"),
    ("http://10.0.0.55:99999", "invalid port"),
    ("http://10.0.0.55:", "empty port"),
    ("http://10.0.0.55:0", "port 0"),
    ("http://10.0.0.55/debian ", "whitespace"),
    ("http://10.0.0.55/?x=1", "query or fragment"),
    ("http://[fd00::zz]/", "does not appear to be an IPv4 or IPv6 address"),
])
def test_bad_urls_say_what_is_wrong(url: str, words: str) -> None:
    assert words in (url_problem(url) or "")


def test_credentials_in_a_url_are_refused_without_echoing_them() -> None:
    problem = url_problem("http://admin:hunter2@10.0.0.55:9000") or ""
    assert "credentials" in problem and "hunter2" not in problem


def test_endpoint_urls_take_no_path_and_hosts_come_out_bare() -> None:
    assert "has a path" in (url_problem("http://10.0.0.55:9000/bucket", path_allowed=False) or "")
    assert url_problem("https://10.0.0.100:8443", schemes=("https",), path_allowed=False) is None
    assert url_host("http://[fd00::5]:80/x") == "fd00::5" and url_host("https://10.0.0.100:8443") == "10.0.0.100"


def test_real_public_keys_parse() -> None:
    assert public_key_problem(TEST_PUBLIC_KEY) is None
    assert public_key_problem(ssh_key_pair()[0]) is None
    assert public_key_problem('from="10.0.0.0/8",no-pty ' + TEST_PUBLIC_KEY) is None


@pytest.mark.parametrize(("line", "words"), [
    ("", "empty line"),
    ("not a key", "not an OpenSSH public key type"),
    ("ssh-ed25519", "no key data"),
    ("ssh-ed25519 AAAA!!notbase64", "not valid base64"),
    (TEST_PUBLIC_KEY.split()[0] + " " + TEST_PUBLIC_KEY.split()[1][:40], "damaged or truncated"),
    ("ssh-rsa " + TEST_PUBLIC_KEY.split()[1], "says ssh-rsa but its key data is a 'ssh-ed25519' key"),
    ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "DSA"),
])
def test_broken_public_keys_are_caught(line: str, words: str) -> None:
    assert words in (public_key_problem(line) or "")


def test_a_pasted_private_key_is_refused_and_not_echoed() -> None:
    _public, private = ssh_key_pair()
    problem = public_key_problem(private) or ""
    assert "PRIVATE key" in problem and private.splitlines()[1] not in problem


def test_private_keys_must_parse_without_a_passphrase() -> None:
    assert private_key_problem(ssh_key_pair()[1]) is None
    assert "passphrase" in (private_key_problem(ssh_key_pair("s3cret")[1]) or "")
    assert "does not contain" in (private_key_problem("hello") or "")
    damaged = ssh_key_pair()[1].replace("A", "B", 5)
    assert (private_key_problem(damaged) or "") and "B" * 5 not in (private_key_problem(damaged) or "")


def test_server_certificate_must_name_the_vip_and_match_its_key() -> None:
    cert, key = issue_self_signed("registry", ips=["10.0.0.250"])
    other_cert, other_key = issue_self_signed("other", ips=["10.0.0.250"])
    assert server_certificate_problem(cert, "10.0.0.250") is None
    assert "do not include 10.0.0.251" in (server_certificate_problem(cert, "10.0.0.251") or "")
    assert "not a PEM certificate" in (server_certificate_problem("junk", "10.0.0.250") or "")
    assert key_pair_problem(cert, key) is None
    assert "does not belong" in (key_pair_problem(cert, other_key) or "")
    assert "not a readable" in (key_pair_problem(other_cert, "junk") or "")


@pytest.mark.parametrize(("name", "ok"), [
    ("alpine/3.24", True), ("alpine/stable", True), ("debian/bookworm/cloud", True),
    ("alpine 3.24", False), ("/alpine", False), ("images:alpine/3.24", False),
])
def test_image_names(name: str, ok: bool) -> None:
    assert (image_name_problem(name) is None) == ok


def test_alpine_mirror_paths_must_be_the_image_release() -> None:
    assert alpine_release_problem("alpine/3.24", ["alpine/v3.24/main", "alpine/v3.24/community"]) is None
    assert alpine_release_problem("alpine/edge", ["alpine/v3.11/main"]) is None  # edge is not judged
    assert "is Alpine 3.11 but the image is alpine/3.24" in (
        alpine_release_problem("alpine/3.24", ["alpine/v3.24/main", "alpine/v3.11/community"]) or "")
