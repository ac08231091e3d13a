"""Pure checks of typed-in values: URLs, OpenSSH keys, certificates, image names, mirror paths, S3 names
and paths, address ranges, values that travel through Ansible."""

from __future__ import annotations

import ipaddress

import pytest

from cluster.errors import ConfigError
from config.checks import (
    absolute_path_problem,
    alpine_release_problem,
    check_known_keys,
    image_name_problem,
    ipv4_range_problem,
    key_pair_problem,
    one_token_problem,
    private_key_problem,
    public_key_problem,
    s3_bucket_problem,
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


# One row per rule: (rule, refused, accepted, words of the refusal).
@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("3 to 63 characters (short)", "ab", "abc", "a bucket name has 3 to 63"),
    ("3 to 63 characters (long)", "a" * 64, "a" * 63, "a bucket name has 3 to 63"),
    ("lowercase letters, digits, '.', '-'", "Registry", "registry", "lowercase letters"),
    ("no underscore", "my_registry", "my-registry", "lowercase letters"),
    ("starts with a letter or digit", "-registry", "0registry", "starting and ending"),
    ("ends with a letter or digit", "registry.", "registry1", "starting and ending"),
    ("no two adjacent dots", "reg..istry", "reg.istry", "two adjacent dots"),
    ("not formatted as an IP address", "192.168.5.4", "192.168.5.4a", "formatted as an IP address"),
    ("prefix xn--", "xn--registry", "xn-registry", "'xn--'"),
    ("prefix sthree-", "sthree-registry", "three-registry", "'sthree-'"),
    ("prefix amzn-s3-demo-", "amzn-s3-demo-registry", "amzn-s3-registry", "'amzn-s3-demo-'"),
    ("suffix -s3alias", "registry-s3alias", "registry-s3-alias", "'-s3alias'"),
    ("suffix --ol-s3", "registry--ol-s3", "registry-ol-s3", "'--ol-s3'"),
    ("suffix .mrap", "registry.mrap", "registry.mrap1", "'.mrap'"),
    ("suffix --x-s3", "registry--x-s3", "registry-x-s3", "'--x-s3'"),
    ("suffix --table-s3", "registry--table-s3", "registry-table-s3", "'--table-s3'"),
])
def test_s3_bucket_names_follow_the_s3_rules(rule: str, refused: str, accepted: str, words: str) -> None:
    assert words in (s3_bucket_problem(refused) or ""), rule
    assert s3_bucket_problem(accepted) is None, rule


@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("absolute", "registry", "/registry", "not an absolute path"),
    ("no empty part", "//registry", "/registry", "not a clean path"),
    ("no trailing slash", "/registry/", "/registry/v2", "not a clean path"),
    ("no '.' part", "/./registry", "/.registry", "not a clean path"),
    ("no '..' part", "/a/../registry", "/a/registry", "not a clean path"),
    ("plain characters", "/my registry", "/my_registry", "characters other than"),
    ("the root itself", "", "/", "not an absolute path"),
])
def test_absolute_paths_are_clean(rule: str, refused: str, accepted: str, words: str) -> None:
    assert words in (absolute_path_problem(refused) or ""), rule
    assert absolute_path_problem(accepted) is None, rule


SUBNET = ipaddress.IPv4Network("10.0.0.0/24")


@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("first before last", ["10.0.0.199", "10.0.0.100"], ["10.0.0.100", "10.0.0.199"], "wrong order"),
    ("inside the subnet", ["10.0.0.100", "10.0.1.5"], ["10.0.0.100", "10.0.0.254"], "not inside the subnet"),
    ("two addresses", ["10.0.0.100"], ["10.0.0.100", "10.0.0.100"], "not [first, last]"),
    ("IPv4 addresses", ["10.0.0.100", "10.0.0.x"], ["10.0.0.1", "10.0.0.2"], "not [first, last]"),
    ("a list, not a string", "10.0.0.100-10.0.0.199", ("10.0.0.100", "10.0.0.199"), "not [first, last]"),
])
def test_address_ranges(rule: str, refused: object, accepted: object, words: str) -> None:
    assert words in (ipv4_range_problem(refused, SUBNET) or ""), rule
    assert ipv4_range_problem(accepted, SUBNET) is None, rule


SECRET = "s3cr3t-VALUE"


@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("one line", f"{SECRET}\n", SECRET, "whitespace"),
    ("no control characters", f"{SECRET}\x00", SECRET, "control characters"),
    ("no Ansible template", "{{lookup('env','HOME')}}" + SECRET, "{" + SECRET + "}", "evaluate as a template"),
    ("no Ansible statement", "{%" + SECRET, "%" + SECRET, "evaluate as a template"),
    ("no Ansible comment", "{#" + SECRET, "#" + SECRET, "evaluate as a template"),
    ("none of the refused characters", f'{SECRET}"', f"{SECRET}'", "contains one of"),
])
def test_tokens_pass_through_ansible_and_are_never_echoed(rule: str, refused: str, accepted: str,
                                                          words: str) -> None:
    problem = one_token_problem(refused, "S3 secret key", '"\\', "the file holds it in double quotes") or ""
    assert words in problem and SECRET not in problem, rule
    assert one_token_problem(accepted, "S3 secret key", '"\\', "the file holds it in double quotes") is None, rule


def test_unknown_keys_are_named_first_in_order() -> None:
    with pytest.raises(ConfigError) as caught:
        check_known_keys({"url": 1, "zz": 2, "bb": 3}, ("url", "name"), "lxdha:operations.healthChecks[0]")
    assert caught.value.field == "lxdha:operations.healthChecks[0].bb" and "use one of url, name" in str(caught.value)
    check_known_keys({"url": 1}, ("url", "name"), "lxdha:operations.healthChecks[0]")
