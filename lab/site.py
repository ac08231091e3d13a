"""The "site services" host: a real S3 server (MinIO) in its own netns, with a public-read bucket
serving the signed package mirror over plain HTTP, a private bucket for the registry and one for the
database's backups. The backups reach S3 through a TLS front (haproxy terminating TLS with the lab's
certificate for the site address, in front of MinIO): pgBackRest 2.45 speaks only HTTPS to S3.

Root credentials are generated once per lab and kept only in 0600 files (MinIO gets them through
its environment, never its command line).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import boto3
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from cluster.polling import holds_within
from lab.config import BACKUP_BUCKET, MIRROR_BUCKET, MIRROR_SUITE, REGISTRY_BUCKET, S3_PORT, S3_TLS_PORT, LabConfig
from lab.files import read_secret, write_public, write_secret
from lab.gobuild import minio_path
from lab.mirror import SignedMirror, mirror_files
from lab.net import NETNS_DIR
from lab.pki import ensure_pair
from lab.proc import Daemon, LabError, ProcessTable, run

DAEMON = "minio"
TLS_FRONT = "s3-tls"


def access_key_path(config: LabConfig) -> Path:
    return config.secrets_dir / "s3-access-key"


def secret_key_path(config: LabConfig) -> Path:
    return config.secrets_dir / "s3-secret-key"


def ensure_credentials(config: LabConfig) -> None:
    if not access_key_path(config).exists():
        write_secret(access_key_path(config), "lxdha" + secrets.token_hex(8))
    if not secret_key_path(config).exists():
        write_secret(secret_key_path(config), secrets.token_urlsafe(30))


def data_dir(config: LabConfig) -> Path:
    return config.site_dir / "data"


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies/CA bundles from the environment for lab-local HTTP
    return session


def s3_healthy(config: LabConfig, timeout: float = 2) -> bool:
    try:
        return _session().get(f"{config.s3_endpoint}/minio/health/live", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def start_s3(config: LabConfig, table: ProcessTable) -> Daemon:
    running = table.running(DAEMON)
    if running:  # maybe started by a run killed before MinIO was healthy: wait for it like a fresh start
        _wait_healthy(config, running)
        return running
    binary = minio_path(config)
    if not binary.exists():
        raise LabError(f"MinIO binary missing at {binary}; `lab up` builds it")
    data = data_dir(config)
    data.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(config.site_dir),
           "MINIO_ROOT_USER": read_secret(access_key_path(config)),
           "MINIO_ROOT_PASSWORD": read_secret(secret_key_path(config)),
           "MINIO_BROWSER": "off", "MINIO_UPDATE": "off", "MINIO_CALLHOME_ENABLE": "off"}
    daemon = table.spawn(DAEMON, ["nsenter", f"--net={NETNS_DIR / config.site.netns}", "--", str(binary),
                                  "server", "--quiet", "--address", f"{config.site.address}:{S3_PORT}",
                                  str(data)],
                         marker=str(data), log_path=config.log_dir / "minio.log", env=env)
    _wait_healthy(config, daemon)
    return daemon


def _wait_healthy(config: LabConfig, daemon: Daemon, timeout: float = 60) -> None:
    def healthy() -> bool:
        if daemon.gone():  # not alive(): /proc cmdline reads can come back empty while it starts
            raise LabError(f"MinIO exited at start; see {config.log_dir / 'minio.log'}")
        return s3_healthy(config)

    if not holds_within(healthy, timeout_s=timeout, poll_s=0.2):
        raise LabError(f"MinIO not healthy after {timeout:.0f}s; see {config.log_dir / 'minio.log'}")


def tls_cert_paths(config: LabConfig) -> tuple[Path, Path]:
    return config.pki_dir / "s3-tls.crt", config.secrets_dir / "s3-tls.key"


def _tls_front_config(config: LabConfig, pem: Path) -> str:
    return f"""# written by lab/site.py: TLS in front of MinIO for clients that speak only HTTPS (pgBackRest 2.45)
global
    maxconn 500
defaults
    mode tcp
    timeout connect 2s
    timeout client 10m
    timeout server 10m
frontend s3_tls
    bind {config.site.address}:{S3_TLS_PORT} ssl crt {pem}
    default_backend minio
backend minio
    server minio {config.site.address}:{S3_PORT}
"""


def start_s3_tls(config: LabConfig, table: ProcessTable) -> Daemon:
    """The TLS front: the lab's certificate for the site address (its key and certificate in one 0600 file,
    as haproxy reads them)."""
    cert, key = tls_cert_paths(config)
    pem = config.secrets_dir / "s3-tls.pem"
    if cert.exists() and not _names_address(cert, config):
        for stale in (cert, key, pem):  # an older lab's certificate, issued for the address as an IP SAN only
            stale.unlink(missing_ok=True)
        running = table.get(TLS_FRONT)
        if running:
            running.stop(term_timeout=5)
        table.forget(TLS_FRONT)
    # pgBackRest 2.45 matches the host it connects to against the CN and DNS SANs only, not IP SANs
    address = config.site.address
    ensure_pair(cert, key, address, ips=[address], dns=[address])
    if not pem.exists():
        write_secret(pem, cert.read_text() + key.read_text())
    cfg = config.site_dir / "s3-tls.cfg"
    write_public(cfg, _tls_front_config(config, pem))
    running = table.running(TLS_FRONT)
    if running:
        return running
    run(["haproxy", "-c", "-q", "-f", str(cfg)], timeout=30)
    daemon = table.spawn(TLS_FRONT, ["nsenter", f"--net={NETNS_DIR / config.site.netns}", "--", "haproxy", "-db",
                                     "-f", str(cfg)], marker=f"-f {cfg}", log_path=config.log_dir / "s3-tls.log")
    if not holds_within(lambda: _tls_answers(config, cert), timeout_s=15, poll_s=0.2):
        raise LabError(f"the S3 TLS front does not answer on {config.s3_tls_endpoint}; see {config.log_dir}/s3-tls.log")
    return daemon


def _names_address(cert: Path, config: LabConfig) -> bool:
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return config.site.address in names.get_values_for_type(x509.DNSName)


def _tls_answers(config: LabConfig, ca: Path) -> bool:
    try:
        return _session().get(f"{config.s3_tls_endpoint}/minio/health/live", verify=str(ca), timeout=2).ok
    except requests.RequestException:
        return False


def stop_s3(config: LabConfig, table: ProcessTable) -> None:
    daemon = table.get(DAEMON)
    if daemon:
        daemon.stop(term_timeout=15)
    table.forget(DAEMON)


def s3_client(config: LabConfig):  # noqa: ANN201 - boto3 client types are generated
    return boto3.client("s3", endpoint_url=config.s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=read_secret(access_key_path(config)),
                        aws_secret_access_key=read_secret(secret_key_path(config)),
                        config=BotoConfig(s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=60,
                                          retries={"max_attempts": 3, "mode": "standard"}))


def public_read_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/*"]}]})


def ensure_buckets(config: LabConfig) -> None:
    client = s3_client(config)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in (MIRROR_BUCKET, REGISTRY_BUCKET, BACKUP_BUCKET):
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=MIRROR_BUCKET, Policy=public_read_policy(MIRROR_BUCKET))


def publish_mirror(config: LabConfig, mirror: SignedMirror) -> None:
    """Uploads the repository unless the bucket already serves this exact InRelease."""
    client = s3_client(config)
    in_release_key = f"dists/{MIRROR_SUITE}/InRelease"
    local = (mirror.root / in_release_key).read_bytes()
    try:
        if client.get_object(Bucket=MIRROR_BUCKET, Key=in_release_key)["Body"].read() == local:
            return
    except ClientError:
        pass
    files = mirror_files(mirror)
    # InRelease last: a reader never sees an index that names files not uploaded yet
    files.sort(key=lambda p: p.name in ("InRelease", "Release", "Release.gpg"))
    for path in files:
        client.upload_file(str(path), MIRROR_BUCKET, str(path.relative_to(mirror.root)))


def mirror_serves(config: LabConfig) -> bool:
    try:
        response = _session().get(f"{config.mirror_url}/dists/{MIRROR_SUITE}/InRelease", timeout=5)
    except requests.RequestException:
        return False
    return response.status_code == 200 and b"BEGIN PGP SIGNED MESSAGE" in response.content
