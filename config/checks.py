"""Pure checks of values an operator types into stack config: URLs, OpenSSH public keys, PEM blocks,
image names. Each returns why the value cannot work (one sentence, to go into a ConfigError that
names the key), or None. A value that may be secret is never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
import struct
from collections.abc import Iterable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_ssh_private_key,
    load_ssh_public_key,
)

from cluster.errors import ConfigError

# DNS host names: labels of letters, digits and '-', not starting or ending with '-'.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")

# Public key types OpenSSH accepts in authorized_keys (DSA is disabled since OpenSSH 7.0).
KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
_PARSED_FULLY = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")

# Image names on a remote and local aliases, e.g. alpine/3.24, debian/bookworm/cloud, alpine/stable.
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def host_problem(host: str) -> str | None:
    """Why `host` is neither an IP address nor a DNS name, or None."""
    if host.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
            return None
        except ValueError:
            return f"{host!r} is not a valid IPv6 address"
    if _DOTTED_NUMBERS.match(host):
        try:
            ipaddress.IPv4Address(host)
            return None
        except ValueError:
            return f"{host!r} is not a valid IPv4 address"
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.rstrip(".").split(".")):
        return f"{host!r} is not a valid host name (letters, digits, '-' and '.')"
    return None


def url_problem(value: object, schemes: tuple[str, ...] = ("http", "https"), path_allowed: bool = True,
                query_allowed: bool = False) -> str | None:
    """Why `value` is not a usable `scheme://host[:port][/path]` URL, or None.

    Checked: scheme, host syntax (IPv4, [IPv6] or DNS name), port syntax and range, no credentials
    (they would end up in logs and state), no whitespace, no query or fragment (unless `query_allowed`: a
    URL that is requested as is, not a base other paths are added to), and no path where only an endpoint
    makes sense.
    """
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if not isinstance(value, str) or not value:
        return f"is not set (expected a {wanted} URL)"
    if any(char.isspace() for char in value):
        return f"{value.strip()[:80]!r} contains whitespace"
    try:
        parsed = urlsplit(value)
    except ValueError as error:
        return f"{value[:80]!r} is not a URL ({error})"
    if "@" in parsed.netloc:
        return "carries a user name or password; credentials belong in their own (secret) settings, not in a URL"
    if parsed.scheme.lower() not in schemes or not value.lower().startswith(f"{parsed.scheme.lower()}://"):
        return f"{value[:80]!r} does not start with {wanted}"
    if not parsed.hostname:
        return f"{value[:80]!r} has no host"
    problem = host_problem(parsed.hostname)
    if problem:
        return f"in {value[:80]!r}: {problem}"
    if parsed.netloc.endswith(":"):
        return f"{value[:80]!r} has an empty port"
    try:
        port = parsed.port
    except ValueError:
        return f"{value[:80]!r} has an invalid port (use a number from 1 to 65535)"
    if port == 0:
        return f"{value[:80]!r} has port 0 (use a number from 1 to 65535)"
    if not query_allowed and (parsed.query or parsed.fragment or value.endswith(("?", "#"))):
        return f"{value[:80]!r} has a query or fragment; give only the base URL"
    if not path_allowed and parsed.path not in ("", "/"):
        return f"{value[:80]!r} has a path ({parsed.path}); give only {schemes[0]}://host[:port]"
    return None


def url_host(value: str) -> str:
    """The host part of a URL that passed `url_problem`, without IPv6 brackets."""
    return urlsplit(value).hostname or ""


def _ssh_string(data: bytes) -> str:
    """The first length-prefixed string of an SSH wire blob (its key type)."""
    if len(data) < 4:
        raise ValueError("too short")
    (length,) = struct.unpack(">I", data[:4])
    if length > len(data) - 4:
        raise ValueError("truncated")
    return data[4:4 + length].decode("ascii")


def public_key_problem(line: str) -> str | None:
    """Why `line` is not an OpenSSH public key line (`[options] type base64 [comment]`), or None.

    The base64 blob is decoded and its embedded type must match the declared one, so a key that was
    truncated or wrapped while pasting is caught here instead of locking everyone out later.
    """
    text = line.strip() if isinstance(line, str) else ""
    if not text:
        return "is an empty line, not a public key"
    if "PRIVATE KEY" in text:
        return "is a PRIVATE key; give the public half (the .pub file), and keep the private key out of config"
    tokens = text.split()
    index = next((i for i, token in enumerate(tokens) if token in KEY_TYPES), None)
    if index is None:
        shown = tokens[0][:24]
        if shown.startswith("ssh-dss"):
            return "is a DSA key, which OpenSSH no longer accepts; use an ed25519 key"
        return f"starts with {shown!r}, which is not an OpenSSH public key type ({', '.join(KEY_TYPES[:3])}, ...)"
    key_type = tokens[index]
    if index + 1 >= len(tokens):
        return f"has the key type {key_type} but no key data after it"
    blob = tokens[index + 1]
    try:
        raw = base64.b64decode(blob, validate=True)
        embedded = _ssh_string(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return f"the {key_type} key data is not valid base64 of a public key (truncated or wrapped when pasted?)"
    if embedded != key_type:
        return f"says {key_type} but its key data is a {embedded[:40]!r} key"
    if key_type in _PARSED_FULLY:
        try:
            load_ssh_public_key(f"{key_type} {blob}".encode())
        except (ValueError, UnsupportedAlgorithm):
            return f"the {key_type} key data is damaged or truncated (it does not decode to a valid key)"
    return None


def private_key_problem(text: str) -> str | None:
    """Why `text` cannot be the unattended SSH private key Ansible logs in with, or None (never echoes it)."""
    if "PRIVATE KEY" not in text:
        return "does not contain a PEM/OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)"
    try:
        load_ssh_private_key(text.strip().encode() + b"\n", password=None)
    except TypeError:
        return "is protected by a passphrase; Ansible runs unattended, so use a key without one (a deploy key)"
    except (ValueError, UnsupportedAlgorithm):
        return "is not a readable SSH private key (damaged, or a type OpenSSH cannot use)"
    return None


def pem_certificate_problem(text: str) -> str | None:
    """Why `text` is not a PEM certificate, or None."""
    if "-----BEGIN CERTIFICATE-----" not in text or "-----END CERTIFICATE-----" not in text:
        return "is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"
    return None


def image_name_problem(value: object) -> str | None:
    """Why `value` cannot be an image name or alias such as alpine/3.24 or alpine/stable, or None."""
    if not isinstance(value, str) or not value:
        return "is not set"
    if len(value) > 128 or not _IMAGE_NAME.match(value):
        return (f"{value[:40]!r} is not an image name: use letters, digits, '.', '_', '-' and '/' between parts, "
                "e.g. alpine/3.24")
    return None


def word_problem(value: object) -> str | None:
    """Why `value` is not one word of letters, digits, '.', '_' or '-' (a suite, a component), or None."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        return f"{str(value)[:40]!r} is not a single word (letters, digits, '.', '_', '-')"
    return None


def repository_path_problem(value: object) -> str | None:
    """Why `value` is not a path under the mirror URL such as alpine/v3.24/main, or None."""
    if not isinstance(value, str) or not value.strip("/"):
        return f"{value!r} is not a path"
    if "://" in value or any(char.isspace() for char in value) or ".." in value.split("/"):
        return f"{value[:60]!r} is not a relative path under the mirror URL (e.g. alpine/v3.24/main)"
    return None


ALPINE_RELEASE = re.compile(r"^(\d+\.\d+)$")
ALPINE_REPOSITORY_RELEASE = re.compile(r"(?:^|/)v(\d+\.\d+)/")


def alpine_release_problem(image_source: str, repositories: list[str]) -> str | None:
    """Why the Alpine mirror paths do not belong to the release the image is (alpine/3.24 needs
    v3.24/...), or None. `edge` paths and unversioned sources are not judged."""
    parts = image_source.split("/")
    release = parts[1] if len(parts) > 1 and ALPINE_RELEASE.match(parts[1]) else None
    if release is None:
        return None
    for path in repositories:
        match = ALPINE_REPOSITORY_RELEASE.search(path)
        if match and match.group(1) != release:
            return (f"{path!r} is Alpine {match.group(1)} but the image is {image_source}: apk would mix two "
                    "releases' packages")
    return None


def server_certificate_problem(cert_pem: str, address: str) -> str | None:
    """Why `cert_pem` cannot serve TLS on `address` (not a certificate, address not among its subject
    alternative names, expired), or None."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        return "is not a PEM certificate"
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        addresses = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    except x509.ExtensionNotFound:
        addresses = set()
    if address not in addresses:
        return (f"its subject alternative names do not include {address} "
                f"(it lists {', '.join(sorted(addresses)[:6]) or 'no IP address'}): clients would refuse it")
    if certificate.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        return f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
    return None


def key_pair_problem(cert_pem: str, key_pem: str) -> str | None:
    """Why `key_pem` is not the private key of `cert_pem`, or None (the key is never echoed)."""
    try:
        key = load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        return "is protected by a passphrase; the registry cannot use it unattended"
    except (ValueError, UnsupportedAlgorithm):
        return "is not a readable PEM private key"
    public = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != public.public_bytes(*spki):
        return "does not belong to the certificate (the key pair does not match)"
    return None


def check_known_keys(raw: dict, known: Iterable[str], where: str) -> None:
    """Refuses the first key of the mapping at `where` (e.g. `lxdha:registry.s3`) that is not a known setting:
    a typo would otherwise be ignored without a word."""
    known = tuple(known)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "is not a known setting", f"use one of {', '.join(known)}")


def ipv4_range_problem(value: object, subnet: ipaddress.IPv4Network) -> str | None:
    """Why `value` is not `[first, last]` IPv4 addresses of `subnet`, first before last (a DHCP range), or None."""
    try:
        first, last = (ipaddress.IPv4Address(str(end)) for end in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return f"{str(value)[:80]!r} is not [first, last] IPv4 addresses"
    if first > last:
        return f"its bounds are in the wrong order ({first} comes after {last})"
    if first not in subnet or last not in subnet:
        return f"{first}-{last} is not inside the subnet {subnet}"
    return None


# S3 general purpose bucket naming rules (AWS, "Bucket naming rules"); MinIO applies the same.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def s3_bucket_problem(value: object) -> str | None:
    """Why `value` is not a name S3 accepts for a bucket, or None."""
    name = str(value)
    if not 3 <= len(name) <= 63:
        return f"{name[:70]!r} is {len(name)} characters; a bucket name has 3 to 63"
    if not _BUCKET.match(name):
        return (f"{name!r} is not a bucket name: lowercase letters, digits, '.' and '-' only, starting and "
                "ending with a letter or digit")
    if ".." in name:
        return f"{name!r} has two adjacent dots"
    if _DOTTED_NUMBERS.match(name) and name.count(".") == 3:
        return f"{name!r} is formatted as an IP address"
    reserved = next((part for part in BUCKET_PREFIXES if name.startswith(part)), None)
    if reserved:
        return f"{name!r} starts with {reserved!r}, a prefix S3 reserves"
    reserved = next((part for part in BUCKET_SUFFIXES if name.endswith(part)), None)
    if reserved:
        return f"{name!r} ends with {reserved!r}, a suffix S3 reserves"
    return None


_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")


def absolute_path_problem(value: object) -> str | None:
    """Why `value` is not a clean absolute path (`/`, or `/a/b`: no empty, `.` or `..` part, no trailing
    `/`, parts of letters, digits, '.', '_' and '-'), or None."""
    path = str(value)
    if not path.startswith("/"):
        return f"{path[:80]!r} is not an absolute path (it must start with '/')"
    if path == "/":
        return None
    parts = path[1:].split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{path[:80]!r} is not a clean path (an empty, '.' or '..' part)"
    if not all(_PATH_SEGMENT.match(part) for part in parts):
        return f"{path[:80]!r} has characters other than letters, digits, '.', '_', '-' and '/'"
    return None


JINJA_DELIMITERS = ("{{", "{%", "{#")


def template_safe_problem(value: str) -> str | None:
    """Why `value` cannot travel through Ansible as an extra var, or None: Ansible evaluates any '{{', '{%'
    or '{#' in a variable's value as a template. Never echoes the value (it may be secret)."""
    if any(delimiter in value for delimiter in JINJA_DELIMITERS):
        return "contains '{{', '{%' or '{#', which Ansible would evaluate as a template"
    return None


def one_token_problem(value: str, what: str, forbidden: str = "", why: str = "") -> str | None:
    """Why `value` is not one run of visible characters that passes through Ansible unchanged and has none
    of `forbidden` (`why` says who refuses them), or None. Never echoes the value (it may be secret)."""
    if not value or any(char.isspace() or not char.isprintable() for char in value):
        return f"the {what} is empty or contains whitespace or control characters (a pasted line break?)"
    if any(char in forbidden for char in value):
        return f"the {what} contains one of {' '.join(forbidden)}: {why}"
    problem = template_safe_problem(value)
    return f"the {what} {problem}" if problem else None
