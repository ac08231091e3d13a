"""Reading one secret a service needs: from its top-level secret key (`pulumi config set --secret
lxdha:<key>`), or from a file named inside the service's section (how the lab stack points at files it
generates). Every value is checked before anything is declared, then wrapped as a Pulumi secret; an
error names the key the value came from and never echoes the value.

The checks take a value with the setting it came from (`Given`), so a component's inputs are checked by
the same code, naming the property. A value given as an Output (another resource's, or a secret input of
a component hosted for another language) is not seen here: the host checks it plain before construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from cluster.errors import ConfigError
from config.checks import key_pair_problem, one_token_problem, server_certificate_problem
from config.files import read_config_file

NAMESPACE = "lxdha"

Given = tuple[str, "str | pulumi.Output[str]"]  # (the setting it came from, the value)


@dataclass(frozen=True)
class Secret:
    """One secret input: `lxdha:<secret_key>`, or the file at `<section_key>.<file_field>`."""

    secret_key: str  # e.g. registryS3AccessKey
    section_key: str  # e.g. lxdha:registry.s3
    file_field: str  # e.g. accessKeyFile
    what: str  # for messages, e.g. "S3 access key"

    @property
    def file_setting(self) -> str:
        return f"{self.section_key}.{self.file_field}"


def read_plain(config: pulumi.Config, secret: Secret, section: dict[str, Any], required: bool = True,
               ) -> tuple[str, str] | None:
    """(the key it came from, value); None when optional and unset. `section` holds the file field."""
    inline = config.get(secret.secret_key)
    if inline:
        return f"{NAMESPACE}:{secret.secret_key}", inline
    path = section.get(secret.file_field)
    if path:
        return secret.file_setting, read_config_file(secret.file_setting, str(path)).strip()
    if not required:
        return None
    raise ConfigError(f"{NAMESPACE}:{secret.secret_key}", f"is not set (the {secret.what})",
                      f"pulumi config set --secret {NAMESPACE}:{secret.secret_key} <value>, or set "
                      f"{secret.file_setting}")


def one_line(given: Given | None, what: str, refused: tuple[str, str] = ("", "")) -> pulumi.Output[str] | None:
    """A one-line secret (key, password, shared secret) as a Pulumi secret, checked for paste mistakes and
    for characters the file it is written into cannot hold (`refused`: the characters, and why)."""
    if given is None:
        return None
    source, value = given
    problem = one_token_problem(value, what, *refused) if isinstance(value, str) else None
    if problem:
        raise ConfigError(source, problem, f"set the {what} alone, on one line, without those characters")
    return pulumi.Output.secret(value)


def checked_tls(cert: tuple[str, str], key: Given, address: str) -> tuple[str, pulumi.Output[str]]:
    """(certificate PEM, key as a secret) for a service answering TLS on `address`: the certificate must name
    the address and be current, the key must be its. Each comes with the setting it came from."""
    cert_source, cert_pem = cert
    problem = server_certificate_problem(cert_pem, address)
    if problem:
        raise ConfigError(cert_source, problem, f"issue the certificate with {address} as an IP SAN")
    key_source, key_value = key
    problem = key_pair_problem(cert_pem, key_value) if isinstance(key_value, str) else None
    if problem:
        raise ConfigError(key_source, problem, f"give the private key of the certificate in {cert_source}")
    return cert_pem, pulumi.Output.secret(key_value)


def stack_certificate(tls: dict[str, Any], section_key: str, address: str) -> tuple[str, str]:
    """(the setting it came from, PEM) of the stack's certificate: inline `cert` or `certFile` in `<section_key>`."""
    cert_field = "cert" if tls.get("cert") else "certFile"
    cert_source = f"{section_key}.{cert_field}"
    cert = str(tls["cert"]) if tls.get("cert") else (
        read_config_file(cert_source, str(tls["certFile"])) if tls.get("certFile") else "")
    if not cert:
        raise ConfigError(f"{section_key}.certFile", f"no TLS certificate for {address}",
                          f"set {section_key}.certFile (PEM, with {address} as a subject alternative name)")
    return cert_source, cert
