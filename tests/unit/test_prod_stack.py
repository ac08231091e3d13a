"""Pulumi.prod.yaml, validated offline: the production site is never contacted by tests.

Checks the documented site (LB, mirror, image, replicas), that every setting passes the same
validators `pulumi preview` runs, that no secret value is in the file, and that the placeholders
fail with an error naming the key until an operator sets them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from cluster.connection import LxdEndpoint, normalize_fingerprint, validate_endpoint
from components.containers_config import containers_settings
from components.registry_config import registry_settings
from provisioners.bootstrap_plan import Mirror, validate_plan_inputs

ROOT = Path(__file__).resolve().parents[2]
PROD = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]


def test_production_site_as_documented() -> None:
    assert PROD["lxd:remote"] == "https://10.0.0.100:8443"
    assert PROD["lxdha:mirror"]["url"] == "http://10.0.0.55:9000"
    image = PROD["lxdha:image"]
    assert (image["source"], image["alias"], image["distro"]) == ("alpine/3.11", "alpine/stable", "alpine")
    assert image["remote"].startswith("https://")


def test_every_setting_passes_the_preview_validators() -> None:
    settings = registry_settings(PROD["lxdha:registry"], mirror_url=PROD["lxdha:mirror"]["url"])
    assert settings.replicas == 2 and settings.vrrp.vip == "10.0.0.250"
    assert settings.s3.endpoint == "http://10.0.0.55:9000"
    assert settings.server.source == "artifact"
    assert settings.server.url.startswith("http://10.0.0.55:9000/artifacts/distribution-registry/")
    containers_settings(PROD["lxdha:containers"])
    mirror = PROD["lxdha:mirror"]
    validate_plan_inputs("alpine", Mirror(url=mirror["url"], repositories=tuple(mirror["repositories"])),
                         ("ssh-ed25519 AAAAplaceholder operator@site",))


def test_no_secret_value_in_the_stack_file() -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    assert "PRIVATE KEY" not in text and "secure:" not in text
    for key in ("lxd:clientKey", "lxd:trustPassword", "lxdha:sshPrivateKey", "lxdha:registryS3SecretKey",
                "lxdha:registryTlsKey", "lxdha:registryUsers"):
        assert key not in PROD, f"{key} must be set with --secret, not written in the file"


def test_fingerprint_placeholder_is_refused_by_name() -> None:
    endpoint = LxdEndpoint(url=PROD["lxd:remote"], server_fingerprint=normalize_fingerprint(
        PROD["lxd:serverFingerprint"]), client_cert_pem="-----BEGIN CERTIFICATE-----",
        client_key_pem="-----BEGIN PRIVATE KEY-----")
    problems = validate_endpoint(endpoint)
    assert problems == ["lxd:serverFingerprint must be the 64-hex-digit SHA-256 of the server certificate"]
