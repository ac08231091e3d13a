"""Certificates the lab issues: the cluster's shared server certificate (its names cover the load
balancer and every member, so clients can verify it by name or pin it), the image remote's, and
the client certificate the cluster trusts."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.files import write_public, write_secret


def fingerprint(pem: str) -> str:
    """SHA-256 of the DER certificate, lower-case hex (what `lxc info` and pylxd pin)."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def issue_self_signed(common_name: str, *, ips: list[str] = (), dns: list[str] = (), server: bool = True,
                      days: int = 3650) -> tuple[str, str]:
    """A self-signed ECDSA P-384 certificate (LXD's own kind) as (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lxdha lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(key, hashes.SHA384())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return cert_pem, key_pem


def ensure_pair(cert_path: Path, key_path: Path, common_name: str, **kwargs: object) -> str:
    """Issues the pair once; later runs reuse it (idempotent `lab up`). Returns the cert PEM."""
    if cert_path.exists() and key_path.exists():
        return cert_path.read_text()
    cert_pem, key_pem = issue_self_signed(common_name, **kwargs)  # type: ignore[arg-type]
    write_secret(key_path, key_pem)
    write_public(cert_path, cert_pem)
    return cert_pem


def presented_certificate(host: str, port: int, timeout: float = 10) -> str:
    """The certificate a TLS server presents (no verification: we compare it to what we expect)."""
    return ssl.get_server_certificate((host, port), timeout=timeout)


def der_base64(pem: str) -> str:
    """The certificate body as LXD's /1.0/certificates API wants it."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
